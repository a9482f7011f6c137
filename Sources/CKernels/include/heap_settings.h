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

#ifdef __cplusplus
}
#endif

#endif
