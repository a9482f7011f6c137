// Process-wide allocator settings a program using the engine may choose (the engine itself
// never changes them).
#ifndef GIM_HEAP_SETTINGS_H
#define GIM_HEAP_SETTINGS_H

#ifdef __cplusplus
extern "C" {
#endif

/// Makes glibc keep freed memory for reuse: blocks up to 32 MB come from the heap instead of
/// their own mappings, and the heap is never trimmed. Returns 1 when both settings were taken.
int gim_keep_freed_memory(void);

/// Gives the free memory the allocator holds back to the system (glibc's malloc_trim: the top of
/// every arena and free pages inside it). Returns 1 when some memory was released.
int gim_release_free_memory(void);

#ifdef __cplusplus
}
#endif

#endif
