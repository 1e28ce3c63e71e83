/* Shared by the C tests: CHECK stops the program with the failed expression and, for calls,
 * the library's error message. */
#ifndef AKIDB_TEST_CHECK_H
#define AKIDB_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#include "akidb_snapshot.h"

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)

/* Runs a call that must succeed; the call passes `&err`. On failure prints code and message. */
#define CHECK_OK(call_with_err)                                                  \
  do {                                                                           \
    akidb_error *err = NULL;                                                     \
    akidb_result rc_ = (call_with_err);                                          \
    if (rc_ != AKIDB_OK) {                                                       \
      fprintf(stderr, "%s:%d: %s failed: %s: %s\n", __FILE__, __LINE__,          \
              #call_with_err, akidb_result_name((uint32_t)rc_),                  \
              err ? akidb_error_message(err) : "no error object");               \
      exit(1);                                                                   \
    }                                                                            \
    CHECK(err == NULL);                                                          \
  } while (0)

/* Runs a call that must fail with `code`, and checks its error object. */
#define CHECK_FAILS(code, call_with_err)                                         \
  do {                                                                           \
    akidb_error *err = NULL;                                                     \
    akidb_result rc_ = (call_with_err);                                          \
    if (rc_ != (code) || err == NULL || akidb_error_code(err) != (code) ||       \
        akidb_error_message(err)[0] == '\0') {                                   \
      fprintf(stderr, "%s:%d: %s gave %s, expected %s (%s)\n", __FILE__,         \
              __LINE__, #call_with_err, akidb_result_name((uint32_t)rc_),        \
              akidb_result_name((uint32_t)(code)),                               \
              err ? akidb_error_message(err) : "no error object");               \
      exit(1);                                                                   \
    }                                                                            \
    akidb_error_free(err);                                                       \
  } while (0)

#endif
