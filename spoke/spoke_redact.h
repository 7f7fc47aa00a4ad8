/* spoke_redact.h — a GPU job's command line as the node role sends it: as it is, with secrets replaced by
 * "***", or not at all (job_cmdline: full | redacted | none). Pure functions over caller-owned buffers:
 * no I/O, no allocation. spoke/README.md ("Command-line redaction") lists the rules with examples.
 *
 * Return convention: none of these can fail; bool functions answer a question, the others return a length or a name. */
#ifndef SPOKE_REDACT_H
#define SPOKE_REDACT_H

#include <stdbool.h>
#include <stddef.h>

typedef enum spoke_cmdline_mode {
	SPOKE_CMDLINE_REDACTED = 0, /* the default: secret values become "***" */
	SPOKE_CMDLINE_FULL = 1,     /* the arguments as they are */
	SPOKE_CMDLINE_NONE = 2      /* an empty command line */
} spoke_cmdline_mode;

/* "redacted", "full", "none"; "unknown" for another value. */
const char *spoke_cmdline_mode_name(spoke_cmdline_mode mode);

/* The mode named s ("full", "redacted", "none", exactly) into *out. False (and *out untouched) otherwise. */
bool spoke_cmdline_mode_parse(const char *s, spoke_cmdline_mode *out);

/* Whether a key names a secret: key[0..n), leading '-' and '+' ignored, cut into segments at every
 * character that is not a letter or digit and at camelCase humps ("apiKey", "APIKey": api|key). A key is
 * secret when one segment
 *   - contains password, passwd, secret, credential or passphrase (PGPASSWORD, client_secret, secrets);
 *   - is pass, pwd, passin, passout, auth, authorization, cookie, creds, apikey, privatekey, accesskey,
 *     accesstoken, authtoken, apitoken, refreshtoken, sessiontoken or signature;
 *   - is token, unless a vocabulary word comes before it (pad, eos, bos, unk, sep, cls, mask, special,
 *     start, end, stop, max, min, num) or a size word after it (id, ids, len, length, limit, budget, count,
 *     size, type): --token and HF_TOKEN are secret, --pad_token_id and --token-budget are not;
 *   - is key after api, private, access, signing, encryption, master, ssh, session, license, account,
 *     client, auth or hmac: --api-key and AWS_ACCESS_KEY_ID are secret, --key_padding and --sort-key not.
 * Whole segments, not substrings: --tokenizer, --max_tokens, --num_tokens and --author stay readable. */
bool spoke_redact_secret_key(const char *key, size_t n);

/* Joins the NUL-separated arguments raw[0..n) (a /proc/PID/cmdline; a final NUL is the last argument's
 * terminator, a missing one is fine) with spaces into out[0..cap) and returns the bytes written (at most
 * cap; no NUL added; what does not fit is dropped). FULL: the arguments as they are; NONE: nothing (0);
 * REDACTED: as FULL but every secret value replaced by "***":
 *   - a KEY=VALUE or --key=value whose key is secret (spoke_redact_secret_key): KEY=***;
 *   - the word after a --key or -key flag whose key is secret, unless that word is a "--" flag itself;
 *   - a header "Name: value" whose name is secret (Authorization, Cookie, X-Api-Key, Private-Token...),
 *     as an argument, quoted inside one, or after --header=: Name: *** (an auth scheme kept: Bearer ***);
 *   - the values of secret keys in a JSON or Python-dict argument ({"password": "x"}: "***"; a secret
 *     key holding an object or a list: "***"), at any depth;
 *   - the password of a URL's user info (scheme://user:***@host), a user name of 20 characters or more
 *     used alone (a token, as in https://TOKEN@github.com), and secret query parameters (?token=***);
 *   - client options that take a secret without a key: -p<password> after mysql, mariadb and their tools
 *     (mysqldump, mysqladmin...: -p with a separate word prompts, so that word is a database and kept),
 *     sshpass -p (both forms), redis-cli -a, and the password of curl's -u/--user/-U/--proxy-user
 *     user:password (user:***).
 * Arguments are also split into words at whitespace outside quotes and outside JSON braces, so a shell
 * string ("sh -c '... --password X'") or a setproctitle'd line is redacted word by word; a client's
 * options count until the next ; && || or | word. The cut at cap never shows part of a secret (a secret is
 * replaced before anything after it is written); a caller that read raw in part drops its last, cut word
 * first (a URL cut before its '@' would otherwise pass). */
size_t spoke_redact_cmdline(const char *raw, size_t n, spoke_cmdline_mode mode, char *out, size_t cap);

#endif
