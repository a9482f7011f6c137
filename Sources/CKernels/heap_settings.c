// See heap_settings.h.
#include "heap_settings.h"

#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
#include <limits.h>

int gim_keep_freed_memory(void) {
    int a = mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);  // glibc's largest allowed threshold
    int b = mallopt(M_TRIM_THRESHOLD, INT_MAX);
    return a && b;
}

int gim_release_free_memory(void) { return malloc_trim(0); }
#else
int gim_keep_freed_memory(void) { return 0; }
int gim_release_free_memory(void) { return 0; }
#endif
