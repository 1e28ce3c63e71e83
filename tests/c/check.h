/* Shared by the C tests: CHECK stops the program with the failed expression and, for calls,
 * the library's error message. */
#ifndef AKIDB_TEST_CHECK_H
#define AKIDB_TEST_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Checks that `docs` holds exactly what `view` lent (all of whose arrays are given): every
 * field, every float bit. */
static inline void check_same_documents(const akidb_documents *docs, const akidb_documents_view *view) {
  CHECK(akidb_documents_count(docs) == view->count);
  CHECK(akidb_documents_dimension(docs) == view->dimension);
  CHECK(memcmp(akidb_documents_vectors(docs), view->vectors,
               view->count * view->dimension * sizeof(float)) == 0);
  for (size_t i = 0; i < view->count; i++) {
    uint8_t id[16];
    CHECK(akidb_documents_id(docs, i, &id) == AKIDB_OK && memcmp(id, view->document_ids[i], 16) == 0);
    const char *ext = akidb_documents_external_id(docs, i), *want_ext = view->external_ids[i];
    CHECK(want_ext ? (ext && strcmp(ext, want_ext) == 0) : ext == NULL);
    const char *meta = akidb_documents_metadata_json(docs, i), *want_meta = view->metadata_json[i];
    CHECK(want_meta ? (meta && strcmp(meta, want_meta) == 0) : meta == NULL);
    CHECK(akidb_documents_inserted_at_ms(docs, i) == view->inserted_at_ms[i]);
  }
}

/* A UUID (version 4 bits set) numbered `n`, distinct for each `n`. */
static inline void id(uint8_t out[16], uint32_t n) {
  memset(out, 0, 16);
  out[0] = 0x01;
  out[6] = 0x40;
  out[8] = 0x80;
  out[12] = (uint8_t)(n >> 24);
  out[13] = (uint8_t)(n >> 16);
  out[14] = (uint8_t)(n >> 8);
  out[15] = (uint8_t)n;
}

/* The position of the child column `name` in a struct schema, or -1. */
static inline int64_t child_index(const struct ArrowSchema *schema, const char *name) {
  for (int64_t i = 0; i < schema->n_children; i++)
    if (strcmp(schema->children[i]->name, name) == 0) return i;
  return -1;
}

#endif
