/* fl_synth.h — synthetic nodes, GPUs and job parameters for fl-frame-tool, fl-load-bench and test_proto (test and
 * bench tools only). */
#ifndef FL_SYNTH_H
#define FL_SYNTH_H

#include <stdbool.h>
#include <stdint.h>

#include "fl_proto.h"

/* Fills f's nodes, GPUs and overview (f's arrays must be empty; f owns what is added) with k nodes
 * node-00000, node-00001, ... of g GPUs each: node i is Ready and schedulable, ip 10.0.<i/250>.<i%250+1>,
 * gpu_count g, gpu_allocation i%(g+1); GPU j has utilization (i+j+salt)%100, temperature
 * 40+j+(i+j+salt)%20-(i+j)%20 °C, power 500+(i+3j+13·salt)%150-(i+3j)%150 W (all three move with every
 * step of salt, as a busy GPU's do every cycle; salt 0: 40+j °C and 500 W) and serial SN-<i>-<j>; the
 * overview is what those imply. FL_OK or FL_ENOMEM. */
int fl_synth_frame(fl_proto_frame *f, uint32_t k, uint32_t g, uint32_t salt);

/* Recomputes f's overview from its nodes and GPUs by the spoke's overview rules (spoke/spoke_overview.c),
 * for frames whose nodes a tool reworked: GPU nodes counted, faulty ones apart, allocation over the healthy
 * ones, utilization the mean over the GPUs that report one (unknown when GPUs exist but none does). The
 * storage and network figures are not about nodes and are kept. */
void fl_synth_overview(fl_proto_frame *f);

/* Sets a job's parameter or environment variable: key and text cut to their fields, is_num and num as given. */
void fl_synth_kv(fl_proto_kv *kv, const char *key, const char *text, bool is_num, double num);

#endif
