// pidfd_open / pidfd_send_signal for C++ on Debian 12.
//
// glibc 2.36's <sys/pidfd.h> lacks __BEGIN_DECLS, so its declarations get C++
// linkage and fail to link; wrapping the include restores C linkage (fixed in
// glibc 2.37). Requires Linux >= 5.3.
//
// Thread-safety: plain system calls.
#pragma once

extern "C" {
#include <sys/pidfd.h>
}
