// SQLite's memory allocator for jobtape (SQLITE_CONFIG_MALLOC).
//
// Debian's SQLite is built with SQLITE_OMIT_LOOKASIDE, so every cursor a
// statement opens and every record it builds is a malloc/free pair: about 30
// per job on the writer thread, a few percent of its instructions, mostly in
// glibc's slower paths (its per-thread cache holds only 7 blocks a size).
// This allocator keeps freed small blocks on per-thread free lists by size
// class, so the steady state of the store's threads allocates nothing from
// the system.
//
// Thread-safety: the methods may be called from any thread; each thread has
// its own free lists (a block freed on another thread than the one that
// allocated it simply joins the freeing thread's list). A thread's cached
// blocks go back to the system when it exits; each list is capped.
#pragma once

#include <sqlite3.h>

namespace jobtape::store::sqlite {

// The methods to pass to sqlite3_config(SQLITE_CONFIG_MALLOC, ...), which must
// happen before sqlite3_initialize().
const sqlite3_mem_methods* CachingMemMethods();

}  // namespace jobtape::store::sqlite
