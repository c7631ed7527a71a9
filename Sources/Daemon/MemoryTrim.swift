/// Gives the memory a run freed back to the system (glibc keeps freed pages in its arenas otherwise): a daemon
/// that read 100,000 entries once an hour should not hold their pages between runs.
enum MemoryTrim {
    /// `malloc_trim(0)`: releases free memory at the top of every arena and advises the kernel of free pages
    /// inside them.
    static func release() {
        #if os(Linux)
        _ = glibcMallocTrim(0)
        #endif
    }
}

#if os(Linux)
/// glibc's `int malloc_trim(size_t pad)` (malloc.h, which the Glibc module does not import).
@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
#endif
