/* spoke_job_params.h — a GPU job's training parameters and config file path, read from its command line as
 * the node role sends it (job_cmdline). Pure: no I/O (the config file is never opened), one allocation.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h); bool functions answer a question. */
#ifndef SPOKE_JOB_PARAMS_H
#define SPOKE_JOB_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl_err.h"
#include "fl_proto.h"
#include "spoke_redact.h"

/* Whether s[0..n) is a JSON number FleetLens sends as a number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?,
 * an integer (no fraction, no exponent) within +-2^53, or else one with at most 15 significant digits whose
 * value is finite and not flushed to zero. *out (may be NULL) gets the value. "007", "+1", ".5", "1.",
 * "0x10", "1e400" and "true" are text. */
bool spoke_job_params_number(const char *s, size_t n, double *out);

/* The parameters and config path of the NUL-separated arguments raw[0..n) (a /proc/PID/cmdline; a final
 * NUL is the last argument's terminator, a missing one is fine; a caller that read it in part drops the cut
 * last word first). Each argument is taken as mode sends it: FULL as it is; REDACTED as spoke_redact_cmdline
 * makes it, and "***" when it follows a --key or -key whose key is secret (spoke_redact_secret_key), so a
 * secret is "***" here too; NONE: no parameters and no config path.
 * Parameters, in command-line order (argument 0, the program, is never one):
 *   --key=value, and --key value when the next argument is not a "--" flag and not a "-" flag other than a
 *   number (--lr -0.1); a --key with no value is skipped (not true); key=value (a bare argument). Keys lose
 *   their leading dashes and are kept as written; a key is 1..63 of [A-Za-z0-9_.+~/@-] (else the argument is
 *   skipped). Single-dash flags (-k v, -v) and positional words (the script, a module) are skipped.
 *   A value that spoke_job_params_number accepts is a number (is_num, num; value ""), else text cut to its
 *   field at a UTF-8 boundary, bytes that are not UTF-8 as '?'. A key given again takes the later value in
 *   its first place (as argparse does); at most FL_PROTO_MAX_JOB_PARAMS keys, the first ones.
 * config_path: the value of the first --config, --config-file, --config_file, --cfg, --config-path,
 * --deepspeed_config or --deepspeed-config (either form), else the first argument after the program (or
 * a key=value's value) ending in .yaml, .yml, .json, .toml, .ini, .cfg or .conf (any case); "" when none.
 * Cut to FL_PATH_LEN - 1 bytes at a UTF-8 boundary. The path only: it is never opened.
 * *params (malloc'd, the caller's; NULL when none) and *n_params. FL_OK or FL_ENOMEM (then NULL, 0, ""). */
int spoke_job_params(const char *raw, size_t n, spoke_cmdline_mode mode, fl_proto_kv **params, uint32_t *n_params,
                     char config_path[FL_PATH_LEN]);

#endif
