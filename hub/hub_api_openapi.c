/* hub_api_openapi.c — GET /v1/openapi.json: the API's contract (hub/openapi.json, OpenAPI 3.1), byte for
 * byte as the build embedded it (CMakeLists.txt writes hub_openapi_doc.c from it). It holds no data, so
 * hub_api.c serves it without a token. */
#include <stddef.h>

#include "hub_api_int.h"

/* Written by CMakeLists.txt from hub/openapi.json (a NUL follows the len bytes). */
extern const unsigned char hub_openapi_doc[];
extern const size_t hub_openapi_doc_len;

int hub_api_openapi(hub_req *r)
{
	return hub_api_ok_text(r, (const char *)hub_openapi_doc, hub_openapi_doc_len);
}
