// CLONES: compile a loop for AVX-512, AVX2 and plain x86-64 and pick one at load time
// (target_clones, an ifunc). Used by vector_math.c and decode_blocks.c.
//
// Under a sanitizer the clones are left out (one plain x86-64 build of each loop): the ifunc
// resolver runs while the dynamic loader relocates the program, before the sanitizer's runtime
// is set up, and clang instruments the resolver too, so a ThreadSanitizer build crashed in
// __tsan_func_entry before main. The clones are the same source compiled for wider vectors, so
// the sanitizers still check every line.
#ifndef GIM_TARGET_CLONES_H
#define GIM_TARGET_CLONES_H

#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define GIM_NO_CLONES 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define GIM_NO_CLONES 1
#endif

#ifdef GIM_NO_CLONES
#define CLONES
#else
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif

#endif
