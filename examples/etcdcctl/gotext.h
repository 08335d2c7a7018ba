/*
 * gotext.h - text formats as Go's standard library writes and reads them.
 *
 * etcdctl is a Go program: its messages quote values with strconv.Quote, print durations with
 * time.Duration.String, encode JSON with encoding/json and parse flags with strconv and
 * time.ParseDuration. Matching its output byte for byte means doing the same here.
 */
#ifndef ETCDCCTL_GOTEXT_H
#define ETCDCCTL_GOTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* utf8.DecodeRune: the rune at p and its size; 0xFFFD with size 1 for invalid input. */
int32_t go_decode_rune(const void *p, size_t n, size_t *size);
void go_append_rune(ctl_buf *out, int32_t r);
/* unicode.IsSpace, for one rune. */
bool go_is_space(int32_t r);

/* strings.TrimSpace: narrows [*s, *s + *n) to exclude leading and trailing white space. */
void go_trim_space(const char **s, size_t *n);

/* strconv.Quote (what %q prints for a string). */
void go_quote(ctl_buf *out, const void *s, size_t n);
/* encoding/json's string encoding, quotes included (HTML characters escaped, as json.Marshal does). */
void go_json_string(ctl_buf *out, const void *s, size_t n);
/* encoding/base64 StdEncoding, as json.Marshal writes []byte. */
void go_base64(ctl_buf *out, const void *s, size_t n);
/* time.Duration.String, e.g. "1.5s", "2.236267ms", "1m0.5s". */
void go_duration_string(ctl_buf *out, int64_t ns);

/* strconv.ParseInt of the n bytes at s (any bytes, NULs included), in base (0: by prefix);
 * on failure *err receives Go's message, e.g. `strconv.ParseInt: parsing "x": invalid syntax`. */
bool go_parse_int(const char *s, size_t n, int base, int64_t *out, ctl_buf *err);
/* strconv.ParseBool of n bytes, same error convention. */
bool go_parse_bool(const char *s, size_t n, bool *out, ctl_buf *err);
/* time.ParseDuration into nanoseconds, same error convention (`time: invalid duration "x"`). */
bool go_parse_duration(const char *s, int64_t *ns, ctl_buf *err);
/* strconv.Unquote of a "double-quoted" or `back-quoted` literal (quotes included in s). */
bool go_unquote(const char *s, size_t n, ctl_buf *out);

#endif /* ETCDCCTL_GOTEXT_H */
