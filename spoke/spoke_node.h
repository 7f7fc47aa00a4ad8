/* spoke_node.h — the node role's cycle (role: node): one node frame (FORMAT.md 3.10) of this node's GPUs,
 * RDMA devices and GPU jobs, from the collectors of spoke_node_dev.h under cfg->host_root.
 *
 * GPUs come from AMD's sysfs when it shows any, else from NVML when the library loaded at open and shows
 * any, else from DCMI (Ascend NPUs) when that library loaded at open and shows any, else there are none
 * (gpu_source "amd", "nvml", "dcmi" or "none"). RDMA rates need the previous cycle, which the handle keeps.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed. */
#ifndef SPOKE_NODE_H
#define SPOKE_NODE_H

#include "fl_err.h"
#include "fl_proto.h"
#include "spoke_config.h"
#include "spoke_frame.h"
#include "spoke_node_dev.h"

typedef struct spoke_node_role spoke_node_role;

/* Opens the node role for cfg (borrowed; must outlive the handle): tries NVML (cfg->nvml_library) and
 * DCMI (cfg->dcmi_library) once each and logs whether they are there. FL_OK with *out, FL_ENOMEM. */
int spoke_node_open(const spoke_config *cfg, spoke_node_role **out, char err[FL_ERR_LEN]);

/* Collects one node frame into *out (caller frees with fl_proto_frame_free): envelope from meta, kind
 * node, facts {"", FL_VERSION, "node"}, host {cfg->node_name, gpu source}, GPUs, RDMA devices, jobs.
 * now_ms is the wall clock the RDMA rates are measured with. FL_OK; FL_ENOMEM; FL_EIO when
 * host_root/proc cannot be read at all (err says so). */
int spoke_node_collect(spoke_node_role *n, const spoke_frame_meta *meta, int64_t now_ms, fl_proto_frame *out,
                       char err[FL_ERR_LEN]);

/* What the collectors skipped since open. */
void spoke_node_get_counters(const spoke_node_role *n, spoke_node_counters *out);

/* Closes NVML and DCMI and frees n. NULL is fine. */
void spoke_node_close(spoke_node_role *n);

#endif
