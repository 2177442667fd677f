// assert.h: broken invariants crash loudly, in every build type.
//
// ALLOT_CHECK is always on: it guards facts whose violation would oversell or lose data.
// ALLOT_DCHECK is for hot-path argument checks and compiles away in release builds.
#pragma once

#include <cstdio>
#include <cstdlib>

#define ALLOT_CHECK(cond)                                                                    \
  do {                                                                                       \
    if (__builtin_expect(!(cond), 0)) {                                                      \
      std::fprintf(stderr, "allot: check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

#ifdef NDEBUG
#define ALLOT_DCHECK(cond) \
  do {                     \
    (void)sizeof(cond);    \
  } while (0)
#else
#define ALLOT_DCHECK(cond) ALLOT_CHECK(cond)
#endif
