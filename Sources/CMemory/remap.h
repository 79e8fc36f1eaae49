// mremap(2) for growing chunk buffers without copying them; C declares it variadic, which
// Swift cannot call. Header-only: nothing to link.
#ifndef LIFEBOAT_REMAP_H
#define LIFEBOAT_REMAP_H

#include <stddef.h>

// Declared here because Swift's Glibc module is built without _GNU_SOURCE, which hides it.
extern void *mremap(void *old_address, size_t old_size, size_t new_size, int flags, ...);

/// Grows or shrinks the private anonymous mapping at `address`, moving it if it must
/// (MREMAP_MAYMOVE): the pages move, the bytes are not copied. MAP_FAILED on error.
static inline void *lifeboat_remap(void *address, size_t old_size, size_t new_size) {
    return mremap(address, old_size, new_size, 1 /* MREMAP_MAYMOVE */);
}

#endif
