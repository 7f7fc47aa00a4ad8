/* test_spoke_redact.c — a GPU job's command line in, the command line the node role sends out
 * (spoke_redact.h): every secret form issue 14 names, the training parameters that must stay readable,
 * the three job_cmdline modes and the bounded output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "spoke_redact.h"

/* A /proc/PID/cmdline literal: arguments separated (and ended) by NULs, with its length. */
#define RAW(s) s, sizeof(s) - 1

typedef struct {
	const char *in;
	size_t len;
	const char *out;
} cmdline_case;

static void check_cases(const cmdline_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char out[1024];
		size_t len =
		    spoke_redact_cmdline(cases[i].in, cases[i].len, SPOKE_CMDLINE_REDACTED, out, sizeof(out) - 1);
		out[len] = '\0';
		if (strcmp(out, cases[i].out) != 0) {
			fail_msg("case %zu: got '%s', want '%s'", i, out, cases[i].out);
		}
	}
}

/* --key value, --key=value, KEY=VALUE: any key with a secret segment, any case, '-' and '_' alike. */
static void test_redact_secret_keys_in_every_form(void **state)
{
	(void)state;
	static const cmdline_case cases[] = {
	    {RAW("a\0--token=X\0"), "a --token=***"},
	    {RAW("a\0--token\0X\0b\0"), "a --token *** b"},
	    {RAW("a\0--password\0X\0b\0"), "a --password *** b"},
	    {RAW("a\0--password=X\0"), "a --password=***"},
	    {RAW("a\0--passwd\0X\0"), "a --passwd ***"},
	    {RAW("a\0--secret\0X\0"), "a --secret ***"},
	    {RAW("a\0--auth\0X\0"), "a --auth ***"},
	    {RAW("a\0--auth=user:pw\0"), "a --auth=***"},
	    {RAW("a\0--credentials\0X\0"), "a --credentials ***"},
	    {RAW("a\0--private-key\0X\0"), "a --private-key ***"},
	    {RAW("a\0--api-key\0X\0"), "a --api-key ***"},
	    {RAW("a\0--api-key=X\0"), "a --api-key=***"},
	    {RAW("a\0--API_KEY=X\0"), "a --API_KEY=***"},
	    {RAW("a\0--Api_Key\0X\0"), "a --Api_Key ***"},
	    {RAW("a\0--apiKey=X\0"), "a --apiKey=***"},
	    {RAW("a\0--accessToken\0X\0"), "a --accessToken ***"},
	    {RAW("a\0-token\0X\0"), "a -token ***"}, /* Go-style single-dash flags */
	    {RAW("a\0-password=X\0"), "a -password=***"},
	    {RAW("a\0--hf-token\0X\0"), "a --hf-token ***"},
	    {RAW("a\0--client-secret=X\0--db-pass\0Y\0"), "a --client-secret=*** --db-pass ***"},
	    {RAW("a\0--cookie\0s=1\0"), "a --cookie ***"},
	    {RAW("openssl\0rsa\0-passin\0pass:X\0"), "openssl rsa -passin ***"},
	    {RAW("API_KEY=X\0python\0"), "API_KEY=*** python"},
	    {RAW("env\0AWS_SECRET_ACCESS_KEY=X\0AWS_ACCESS_KEY_ID=Y\0aws\0"),
	     "env AWS_SECRET_ACCESS_KEY=*** AWS_ACCESS_KEY_ID=*** aws"},
	    {RAW("env\0HF_TOKEN=X\0GITHUB_TOKEN=Y\0WANDB_API_KEY=Z\0"),
	     "env HF_TOKEN=*** GITHUB_TOKEN=*** WANDB_API_KEY=***"},
	    {RAW("env\0PGPASSWORD=X\0MYSQL_PWD=Y\0psql\0"), "env PGPASSWORD=*** MYSQL_PWD=*** psql"},
	    {RAW("python\0train.py\0db.password=X\0+model.api_key=Y\0"),
	     "python train.py db.password=*** +model.api_key=***"}, /* Hydra overrides */
	    {RAW("a\0token=x=y\0--password=\0"), "a token=*** --password=***"},
	    {RAW("a\0--password\0two words\0b\0"), "a --password *** b"},
	    {RAW("a\0--password=two words\0b\0"), "a --password=*** b"},
	    {RAW("a\0--password\0\"quoted\"\0"), "a --password ***"},
	};
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Secret words are whole segments: training parameters that merely contain one stay readable. */
static void test_redact_keeps_training_parameters_readable(void **state)
{
	(void)state;
	static const cmdline_case cases[] = {
	    {RAW("a\0--tokenizer=bert\0--lr=0.1\0"), "a --tokenizer=bert --lr=0.1"},
	    {RAW("a\0--tokenizer\0bert\0"), "a --tokenizer bert"},
	    {RAW("a\0--max_tokens\0"
	         "512\0--num_tokens=8\0"),
	     "a --max_tokens 512 --num_tokens=8"},
	    {RAW("a\0--max-new-tokens\0"
	         "256\0--maxTokens=4\0"),
	     "a --max-new-tokens 256 --maxTokens=4"},
	    {RAW("a\0--key_padding\0true\0--key-padding-mask=1\0"), "a --key_padding true --key-padding-mask=1"},
	    {RAW("a\0--sort-key\0name\0--key\0k.pem\0"), "a --sort-key name --key k.pem"},
	    {RAW("a\0--pad_token_id\0"
	         "0\0--eos-token\0</s>\0"),
	     "a --pad_token_id 0 --eos-token </s>"},
	    {RAW("a\0--token-budget\0"
	         "4096\0--token_len=8\0"),
	     "a --token-budget 4096 --token_len=8"},
	    {RAW("a\0--author\0me\0--passes\0"), "a --author me --passes"},
	    {RAW("a\0--keyframes\0--monkey\0x\0"), "a --keyframes --monkey x"},
	    {RAW("run\0--Secret-Key\0--verbose\0"), "run --Secret-Key --verbose"}, /* a "--" flag is no value */
	    {RAW("a\0-p\0--db-passwd\0-x\0"), "a -p --db-passwd ***"},             /* a "-x" may be one */
	    {RAW("a\0--passwd\0"), "a --passwd"},
	    {RAW("torchrun\0--nproc_per_node=8\0--master_port=29500\0-m\0train\0"),
	     "torchrun --nproc_per_node=8 --master_port=29500 -m train"},
	    {RAW("a\0--lr\0-0.5\0-1\0"), "a --lr -0.5 -1"},
	    {RAW("nginx: worker process"), "nginx: worker process"}, /* no NUL at all */
	    {RAW("a\0\0b\0"), "a  b"},
	    {RAW(""), ""},
	    {RAW("\0"), ""},
	};
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* user:password@ in URLs (any scheme, also inside a key's value), a token as the user, secret queries. */
static void test_redact_url_credentials(void **state)
{
	(void)state;
	static const cmdline_case cases[] = {
	    {RAW("psql\0postgres://user:pass@host/db\0"), "psql postgres://user:***@host/db"},
	    {RAW("a\0--db=postgresql://u:p@h:5432/db?sslmode=require\0"),
	     "a --db=postgresql://u:***@h:5432/db?sslmode=require"},
	    {RAW("a\0--broker\0amqp://guest:guest@rabbit:5672//\0"), "a --broker amqp://guest:***@rabbit:5672//"},
	    {RAW("a\0mongodb://u:p@ss@h1,h2/db\0"), "a mongodb://u:***@h1,h2/db"}, /* the last '@' ends it */
	    {RAW("git\0clone\0https://git@github.com/o/r\0"), "git clone https://git@github.com/o/r"},
	    {RAW("git\0clone\0https://ghp_0123456789abcdefghij0123@github.com/o/r\0"),
	     "git clone https://***@github.com/o/r"},
	    {RAW("a\0https://h/p?token=abc&page=2\0"), "a https://h/p?token=***&page=2"},
	    {RAW("a\0https://h/p?x=1&api_key=abc#top\0"), "a https://h/p?x=1&api_key=***#top"},
	    {RAW("a\0https://h:8080/p?email=a@b.c\0"), "a https://h:8080/p?email=a@b.c"},
	    {RAW("a\0--urls=redis://:pw@r1:6379,redis://u:pw2@r2\0"), "a --urls=redis://:***@r1:6379,redis://u:***@r2"},
	    {RAW("HTTP_PROXY=http://u:p@proxy:3128\0a\0"), "HTTP_PROXY=http://u:***@proxy:3128 a"},
	    {RAW("a\0http://host/path\0ftp://anon@host\0"), "a http://host/path ftp://anon@host"},
	};
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Header values: Authorization, Cookie, X-Api-Key ... after -H, as one argument, inside a shell string. */
static void test_redact_header_values(void **state)
{
	(void)state;
	static const cmdline_case cases[] = {
	    {RAW("curl\0-H\0Authorization: Bearer X\0https://h\0"), "curl -H Authorization: Bearer *** https://h"},
	    {RAW("curl\0-H\0authorization:Basic dXNlcjpw\0"), "curl -H authorization:Basic ***"},
	    {RAW("curl\0-H\0Cookie: session=abc; id=2\0"), "curl -H Cookie: ***"},
	    {RAW("curl\0-H\0X-Api-Key: abc\0-H\0Private-Token: t\0"), "curl -H X-Api-Key: *** -H Private-Token: ***"},
	    {RAW("curl\0-H\0Content-Type: application/json\0"), "curl -H Content-Type: application/json"},
	    {RAW("curl\0--header=Authorization: Bearer X\0"), "curl --header=Authorization: Bearer ***"},
	    {RAW("curl\0-HAuthorization: Bearer X\0"), "curl -HAuthorization: Bearer ***"},
	    {RAW("curl\0--header\0X-Auth-Token: X\0"), "curl --header X-Auth-Token: ***"},
	    {RAW("sh\0-c\0curl -H 'Authorization: Bearer X' -H \"Cookie: a=b\" https://h\0"),
	     "sh -c curl -H 'Authorization: Bearer ***' -H \"Cookie: ***\" https://h"},
	    {RAW("sh\0-c\0curl -H \"X-Api-Key: k\" -d '{\"password\": \"p\"}' h\0"),
	     "sh -c curl -H \"X-Api-Key: ***\" -d '{\"password\": \"***\"}' h"},
	    {RAW("a\0token:abc\0"), "a token:***"},
	};
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* JSON and Python-dict arguments: a secret key's value replaced at any depth, the rest kept. */
static void test_redact_json_arguments(void **state)
{
	(void)state;
	static const cmdline_case cases[] = {
	    {RAW("a\0{\"password\": \"x\"}\0"), "a {\"password\": \"***\"}"},
	    {RAW("a\0{\"user\":\"u\",\"password\":\"x\",\"port\":5432}\0"),
	     "a {\"user\":\"u\",\"password\":\"***\",\"port\":5432}"},
	    {RAW("a\0--config\0{\"db\": {\"host\": \"h\", \"Password\": \"x\"}, \"lr\": 0.1}\0"),
	     "a --config {\"db\": {\"host\": \"h\", \"Password\": \"***\"}, \"lr\": 0.1}"},
	    {RAW("a\0--config={\"api_key\": \"k\", \"max_tokens\": 5}\0"),
	     "a --config={\"api_key\": \"***\", \"max_tokens\": 5}"},
	    {RAW("a\0{'secret': 'x', 'n': 1}\0"), "a {'secret': '***', 'n': 1}"},
	    {RAW("a\0{\"token\": 123, \"pin\": true}\0"), "a {\"token\": ***, \"pin\": true}"},
	    {RAW("a\0{\"credentials\": {\"u\": \"a\", \"p\": [1, 2]}, \"k\": 1}\0"),
	     "a {\"credentials\": \"***\", \"k\": 1}"},
	    {RAW("a\0[{\"auth\": \"x\"}, {\"name\": \"n\"}]\0"), "a [{\"auth\": \"***\"}, {\"name\": \"n\"}]"},
	    {RAW("a\0{\"url\": \"postgres://u:p@h/d\"}\0"), "a {\"url\": \"postgres://u:***@h/d\"}"},
	    {RAW("a\0{password: x, n: 1}\0"), "a {password: ***, n: 1}"},
	    {RAW("a\0{\"pass\\\"word\": \"x\"}\0"), "a {\"pass\\\"word\": \"***\"}"},
	    {RAW("a\0{\"headers\": {\"Authorization\": \"Bearer x\"}}\0"),
	     "a {\"headers\": {\"Authorization\": \"***\"}}"},
	    {RAW("a\0{\"password\": \"x\0"), "a {\"password\": \"***"}, /* never closed */
	};
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Options that hold a secret without naming it, for the clients that have them. */
static void test_redact_client_password_options(void **state)
{
	(void)state;
	static const cmdline_case cases[] = {
	    {RAW("mysql\0-uroot\0-pX\0-h\0db\0"), "mysql -uroot -p*** -h db"},
	    {RAW("/usr/bin/mysqldump\0-pX\0-P3306\0mydb\0"), "/usr/bin/mysqldump -p*** -P3306 mydb"},
	    {RAW("mariadb\0-p\0mydb\0"), "mariadb -p mydb"}, /* -p alone prompts; mydb is the database */
	    {RAW("mysqladmin\0--password=X\0status\0"), "mysqladmin --password=*** status"},
	    {RAW("sshpass\0-pX\0ssh\0h\0"), "sshpass -p*** ssh h"},
	    {RAW("sshpass\0-p\0X\0ssh\0h\0"), "sshpass -p *** ssh h"},
	    {RAW("redis-cli\0-h\0r\0-a\0X\0ping\0"), "redis-cli -h r -a *** ping"},
	    {RAW("curl\0-u\0user:pw\0https://h\0"), "curl -u user:*** https://h"},
	    {RAW("curl\0-uuser:pw\0--proxy-user=p:q\0-U\0lone\0"), "curl -uuser:*** --proxy-user=p:*** -U lone"},
	    {RAW("python\0train.py\0-p8\0-a\0x\0-u\0a:b\0"), "python train.py -p8 -a x -u a:b"}, /* not those clients */
	    {RAW("sh\0-c\0mysql -pX db; python t.py -p8\0"), "sh -c mysql -p*** db; python t.py -p8"},
	    {RAW("sh\0-c\0mysql -pX db && python t.py -pY\0"), "sh -c mysql -p*** db && python t.py -pY"},
	};
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* A shell string or setproctitle'd line is redacted word by word; quotes and JSON stay whole. */
static void test_redact_inside_shell_strings(void **state)
{
	(void)state;
	static const cmdline_case cases[] = {
	    {RAW("sh\0-c\0python x.py --password hunter2 --n 1\0"), "sh -c python x.py --password *** --n 1"},
	    {RAW("bash\0-c\0HF_TOKEN=x python t.py --tokenizer=bert\0"),
	     "bash -c HF_TOKEN=*** python t.py --tokenizer=bert"},
	    {RAW("sh\0-c\0x --token 'two words' --password=\"a b\" y\0"), "sh -c x --token *** --password=*** y"},
	    {RAW("sh\0-c\0x --secret\0"), "sh -c x --secret"},
	    {RAW("sh\0-c\0x --secret\0X\0"), "sh -c x --secret ***"},
	    {RAW("sh\0-c\0{ x --password X; }\0"), "sh -c { x --password ***; }"}, /* a group, not JSON */
	    {RAW("python3 serve.py --api-key=k --port 80"), "python3 serve.py --api-key=*** --port 80"},
	    {RAW("sh\0-c\0echo 'unclosed --password X\0"), "sh -c echo 'unclosed --password ***"},
	};
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_redact_secret_key_rule(void **state)
{
	(void)state;
	static const struct {
		const char *key;
		bool secret;
	} cases[] = {
	    {"--api-key", true},
	    {"--API_KEY", true},
	    {"AWS_SECRET_ACCESS_KEY", true},
	    {"--auth", true},
	    {"--password", true},
	    {"--token", true},
	    {"--secret", true},
	    {"--credentials", true},
	    {"--passwd", true},
	    {"--private-key", true},
	    {"PGPASSWORD", true},
	    {"apiKey", true},
	    {"APIKey", true},
	    {"X-Api-Key", true},
	    {"Authorization", true},
	    {"Set-Cookie", true},
	    {"client_secret", true},
	    {"--access-token", true},
	    {"x-amz-signature", true},
	    {"--max_tokens", false},
	    {"--tokenizer", false},
	    {"--num_tokens", false},
	    {"--key_padding", false},
	    {"--key", false},
	    {"--pad_token", false},
	    {"--token_ids", false},
	    {"--author", false},
	    {"--keyword", false},
	    {"--monkey", false},
	    {"--passes", false},
	    {"Content-Type", false},
	    {"", false},
	    {"---", false},
	    {"--a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-q-r-s-password", true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = spoke_redact_secret_key(cases[i].key, strlen(cases[i].key));
		if (got != cases[i].secret) {
			fail_msg("'%s': got %d, want %d", cases[i].key, got, cases[i].secret);
		}
	}
}

/* full sends the arguments as they are, none nothing; the names parse both ways. */
static void test_redact_modes(void **state)
{
	(void)state;
	static const char raw[] = "python\0t.py\0--password\0X\0";
	char out[64];
	size_t len = spoke_redact_cmdline(raw, sizeof(raw) - 1, SPOKE_CMDLINE_FULL, out, sizeof(out));
	assert_int_equal(len, strlen("python t.py --password X"));
	assert_memory_equal(out, "python t.py --password X", len);
	len = spoke_redact_cmdline(raw, sizeof(raw) - 1, SPOKE_CMDLINE_REDACTED, out, sizeof(out));
	assert_memory_equal(out, "python t.py --password ***", len);
	assert_int_equal(spoke_redact_cmdline(raw, sizeof(raw) - 1, SPOKE_CMDLINE_NONE, out, sizeof(out)), 0);

	spoke_cmdline_mode m = SPOKE_CMDLINE_NONE;
	assert_true(spoke_cmdline_mode_parse("full", &m));
	assert_int_equal(m, SPOKE_CMDLINE_FULL);
	assert_true(spoke_cmdline_mode_parse("redacted", &m));
	assert_int_equal(m, SPOKE_CMDLINE_REDACTED);
	assert_true(spoke_cmdline_mode_parse("none", &m));
	assert_int_equal(m, SPOKE_CMDLINE_NONE);
	assert_false(spoke_cmdline_mode_parse("Full", &m));
	assert_false(spoke_cmdline_mode_parse("", &m));
	assert_int_equal(m, SPOKE_CMDLINE_NONE);
	assert_string_equal(spoke_cmdline_mode_name(SPOKE_CMDLINE_REDACTED), "redacted");
}

/* The output never passes cap, and a cut shows no part of a secret. */
static void test_redact_output_is_bounded(void **state)
{
	(void)state;
	static const char raw[] = "a\0--password\0hunter2hunter2\0postgres://u:hunter2@h\0";
	char out[64];
	for (size_t cap = 0; cap <= 40; cap++) {
		memset(out, '#', sizeof(out));
		size_t len = spoke_redact_cmdline(raw, sizeof(raw) - 1, SPOKE_CMDLINE_REDACTED, out, cap);
		assert_true(len <= cap);
		assert_int_equal(out[cap], '#');
		for (size_t k = 0; k + 3 <= len; k++) {
			assert_false(memcmp(out + k, "hun", 3) == 0);
		}
	}
	size_t len = spoke_redact_cmdline(raw, sizeof(raw) - 1, SPOKE_CMDLINE_REDACTED, out, sizeof(out));
	assert_memory_equal(out, "a --password *** postgres://u:***@h", len);

	/* A long argument of many words and brackets: linear, bounded, no crash. */
	static char big[8192];
	for (size_t i = 0; i < sizeof(big); i++) {
		big[i] = "{[\"' :=@/-a"[i % 11];
	}
	char out2[1032];
	len = spoke_redact_cmdline(big, sizeof(big), SPOKE_CMDLINE_REDACTED, out2, sizeof(out2));
	assert_true(len <= sizeof(out2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_redact_secret_keys_in_every_form),
	    cmocka_unit_test(test_redact_keeps_training_parameters_readable),
	    cmocka_unit_test(test_redact_url_credentials),
	    cmocka_unit_test(test_redact_header_values),
	    cmocka_unit_test(test_redact_json_arguments),
	    cmocka_unit_test(test_redact_client_password_options),
	    cmocka_unit_test(test_redact_inside_shell_strings),
	    cmocka_unit_test(test_redact_secret_key_rule),
	    cmocka_unit_test(test_redact_modes),
	    cmocka_unit_test(test_redact_output_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
