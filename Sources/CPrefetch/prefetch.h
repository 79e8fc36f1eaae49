// A cache-line prefetch hint, which Swift cannot spell. Header-only: nothing to link.
#ifndef LIFEBOAT_PREFETCH_H
#define LIFEBOAT_PREFETCH_H

/// Asks the CPU to start loading the cache line at `address` for reading; never faults.
static inline void lifeboat_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
