/* spoke_kube_obj.h — Kubernetes Node and Pod JSON objects (jansson) to model items, and the item
 * copies/frees the kube source's live model needs.
 *
 * Only what the overview and the frame use is kept (spoke_model.h), and of the resource lists only
 * the configured GPU resources (bounded by SPOKE_MAX_RESOURCES), plus CPU and memory as numbers.
 * Strings longer than their field are refused (the object is rejected), never cut silently.
 * GPU product label keys, first match wins (SPOKE_KUBE_PRODUCT_LABELS).
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming the field; bool functions answer a question. */
#ifndef SPOKE_KUBE_OBJ_H
#define SPOKE_KUBE_OBJ_H

#include <jansson.h>

#include "fl_err.h"
#include "spoke_model.h"
#include "spoke_overview.h"

/* Node labels that name the GPU product, in order: NVIDIA GPU feature discovery, AMD's GPU operator
 * (current and beta spelling), Huawei's Ascend device plugin. */
#define SPOKE_KUBE_PRODUCT_LABELS                                                                                      \
	{                                                                                                              \
		"nvidia.com/gpu.product", "amd.com/gpu.product-name", "beta.amd.com/gpu.product-name",                 \
		    "node.kubernetes.io/npu.chip.name", NULL                                                           \
	}

/* Fills *n (zeroed first; the caller owns what it then holds and frees it with spoke_kube_node_clear)
 * from a v1 Node object. FL_OK; FL_EINVAL / FL_ELIMIT with err naming the field when the object is
 * malformed or over a limit (n is cleared). */
int spoke_kube_node_from_json(json_t *obj, const spoke_overview_rules *rules, spoke_node *n, char err[FL_ERR_LEN]);

/* The same for a v1 Pod object (spoke_kube_pod_clear). Requests kept: the GPU resources only; also its
 * controller ownerReference, creationTimestamp and the label SPOKE_SAFE_WORKLOAD_LABEL. That label is
 * the one field whose bad value does not refuse the pod (it holds GPUs whatever its labels say): a value
 * that is not a string or not a valid Kubernetes label value (spoke_kube_label_value_valid) is dropped
 * and p->safe_label_invalid set, for the caller to count and log. */
int spoke_kube_pod_from_json(json_t *obj, const spoke_overview_rules *rules, spoke_pod *p, char err[FL_ERR_LEN]);

/* A ReplicaSet's or Job's (any object's) metadata.uid and its controller ownerReference into *l
 * (l->owner.uid "" when it has none). FL_OK; FL_EINVAL / FL_ELIMIT with err when malformed. */
int spoke_kube_link_from_json(json_t *obj, spoke_owner_link *l, char err[FL_ERR_LEN]);

/* Whether s is a valid Kubernetes label value that is not empty: 1..63 bytes of A-Z a-z 0-9 . _ -,
 * beginning and ending with a letter or digit. */
bool spoke_kube_label_value_valid(const char *s);

/* An RFC 3339 time as Kubernetes writes it ("2026-11-20T09:00:00Z", fractions and offsets accepted)
 * in ms since the epoch; 0 for NULL or anything else. */
int64_t spoke_kube_time_ms(const char *s);

/* metadata.name / metadata.uid / metadata.resourceVersion of obj, or NULL (borrowed from obj). */
const char *spoke_kube_obj_meta(json_t *obj, const char *field);

/* Frees what n / p owns and zeroes it. */
void spoke_kube_node_clear(spoke_node *n);
void spoke_kube_pod_clear(spoke_pod *p);

/* Deep copies src into *dst (which must hold nothing). FL_OK or FL_ENOMEM (dst cleared). */
int spoke_kube_node_copy(spoke_node *dst, const spoke_node *src);
int spoke_kube_pod_copy(spoke_pod *dst, const spoke_pod *src);

#endif
