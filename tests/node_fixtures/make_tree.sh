#!/usr/bin/env bash
# make_tree.sh — writes a fake host tree for the spoke's node-role collectors (spoke/spoke_node_dev.h):
# the sysfs and /proc files they read, with values that are a function of the indexes below, so a test
# can assert exact numbers. Used by tests/unit/test_spoke_node_dev.c, tests/integration/node_test.sh and
# the node benchmark (--procs 200). Generated, not committed: a 200-process tree is thousands of files.
#
#   make_tree.sh DIR [--amd N] [--nvidia K | --nvidia-less] [--rdma R] [--procs P] [--gpu-procs G]
#                    [--btime S] [--complete] [--amd-jobs]
#   make_tree.sh DIR --edit [--remove-gpu I] [--replace-gpu I] [--replace-rdma I] [--exit-proc PID]
#                           [--start-gpu-proc] [--ras-error I] [--advance S] ...   (edits, applied in order;
#                           each may repeat)
#
# A new tree: DIR is created if needed and must be empty. Defaults: --amd 4 --nvidia 2 --rdma 2
# --procs 12 --gpu-procs 8 --btime 1700000000. What it writes (i, k: 0-based indexes):
#
# --complete and --amd-jobs make a node that agrees with itself, as ./scripts/demo's node agents stand for
# a sim node of the cluster role (all its GPUs "AMD Instinct MI300X", NUMA 0 or 1): --complete gives the
# last card the optional files too (no "AMD GPU 0x74a1", no NUMA -1, power1_average); --amd-jobs makes
# GPU processes hold AMD device files only, of cards that exist (patterns 1 and 3 below become 0, and
# k%8 becomes k%N). Neither changes anything else.
#
# sys/class/drm — AMD card i = card<i>, a symlink into sys/devices/pci0000:00/0000:<0x10+i>:00.0/drm/
#   whose device (-> that PCI folder) holds:
#     gpu_busy_percent    7*i + 3
#     mem_info_vram_total (196592 + i) MiB + 4096 bytes    mem_info_vram_used (i + 1) GiB
#     product_name        "AMD Instinct MI300X"   (not on the last card when N >= 2: model "AMD GPU 0x74a1")
#     device 0x74a1, vendor 0x1002
#     unique_id           a1b2c3d40000<i as %04x>   (not on the last card when N >= 2)
#     serial_number       692251000<i>
#     numa_node           0 for i < N/2, else 1     (absent on the last card when N >= 2: numa -1)
#     hwmon/hwmon<i+2>/temp1_input     (40 + i) * 1000 + 500       (40.5 + i °C)
#     hwmon/hwmon<i+2>/power1_average  (300 + i) * 1e6 + 250000    (300.25 + i W; power1_input instead on
#                                                                    the last card when N >= 2)
#     drm/renderD<128+i>  (its render node: render minor 128 + i)
#     ras/umc_err_count   "ue: 0\nce: <i>" (healthy, detail "ras ue 0 ce <i>"), ras/features (not a count)
#   and, all to be ignored: card0-DP-1 (a connector; its device/ deliberately holds amdgpu files),
#   renderD128 (-> card 0's device again), a `version` file, and card<N>: a BMC's VGA (vendor 0x1a03,
#   no amdgpu files), so a node with --amd 0 still has a DRM card but no AMD GPU.
# sys/class/kfd/kfd/topology/nodes/0: a CPU node (no gpu_id); nodes/<1+j> for j < N: AMD card i = N-1-j
#   (the reverse of card order, so only the render minor ties them): gpu_id <kfd id i> = 52000 + 1013*i,
#   properties with "drm_render_minor <128+i>" among other lines.
# sys/class/kfd/kfd/proc/<1000+k>, for each GPU process k < G with k%4 == 0 or 2 (whatever --amd-jobs
#   makes of its device files; none with N == 0), by kfd id of card c:
#     vram_<kfd id of k%N>      (k+1) * 256 MiB
#     vram_<kfd id of (k+1)%N>  (k+1) * 16 MiB    only k%4 == 0 and N >= 2
#     vram_<kfd id of (k+2)%N>  0                 only k%4 == 0 and N >= 3 (holds no memory there)
#   and proc/999 (a process that went away, not in proc/) with vram_<kfd id of 0> 4096 when N >= 1.
#   A process --start-gpu-proc starts has none (kfd does not name it: its GPUs come from its device files).
# sys/bus/pci/devices/0000:<0x3b + 0x4b*k>:00.0/numa_node = k, for k < K <= 2: the PCI devices of the
#   GPUs tests/tools/fake_nvml.c reports (bus ids 00000000:3B:00.0 and 00000000:86:00.0).
# sys/class/infiniband/mlx5_<i> (-> sys/devices/pci0000:00/0000:<0x40+i>:00.0/infiniband/mlx5_<i>):
#     node_guid 0c42:a103:00<i as %02x>:0b4e, fw_ver 28.39.1002
#     ports/1/state "4: ACTIVE" and link_layer InfiniBand for even i; "1: DOWN" and Ethernet for odd i
#     ports/1/counters/port_rcv_data 1000000*(i+1), port_xmit_data 2000000*(i+1) (4-byte words)
#     mlx5_0 also has ports/2 with port_rcv_data 500, port_xmit_data 700
# proc/stat: cpu lines, an intr line longer than 8 KiB, "btime S".
# proc/uptime "12345.67 23456.78"; proc/self, proc/thread-self, proc/sys/, proc/12ab/ (entries to skip), and
#   proc/999/: an empty folder (a process that went away: no fd/, no stat).
# proc/<1000+k> for k < P; the first G hold GPU device files. Every process has
#     stat      "<pid> (<comm>) <state> <900+k> <1000+k-k%2> ..." with state R when k%4 == 0 else S (field 3),
#               utime 5+k and stime 3 ticks (fields 14, 15), num_threads 4+k (field 20), starttime
#               100000 + 1000*k ticks (field 22), rss 500 + 100*k pages (field 24)
#     fd/       0 /dev/null, 1 pipe:[..], 2 socket:[..], 3 anon_inode:[eventfd], 4 /dev/nvme0n1 (not a
#               GPU), and in GPU processes, by k%4:
#                 0: /dev/kfd, /dev/dri/renderD<128+k%8> (twice), /dev/dri/renderD<129+k%8>
#                 1: /dev/nvidiactl, /dev/nvidia-uvm, /dev/nvidia<k%8>  (as 0 with --nvidia-less)
#                 2: /dev/dri/card<k%8>, /dev/dri/renderD<128+k%8>
#                 3: /dev/davinci<k%8>, /dev/davinci_manager
#     cwd -> /workspace/job<k> (GPU) or /; environ: SECRET=do-not-read, HOME=/root, and in GPU processes
#               then <V>=<k%8> (V by the fd pattern below: 0, 2 HIP_VISIBLE_DEVICES, 1 CUDA_VISIBLE_DEVICES,
#               3 ASCEND_RT_VISIBLE_DEVICES), WORLD_SIZE=8, HF_TOKEN=hf_secret_value, RANK=<k>,
#               RANK_TABLE_FILE=/etc/hccl.json, LOCAL_RANK=<k%8>, MASTER_ADDR=10.0.0.1, MASTER_PORT=29500
#               (SECRET, HOME, HF_TOKEN and RANK_TABLE_FILE are outside the default job_env: never to be kept)
#     comm, cmdline (NUL-separated), cgroup, maps as below; <uid k> = 5e1f<k %04d>-aaaa-4bbb-8ccc-<k %012d>
#   GPU process k:
#     0  python3 train.py --token=abc123 --epochs 3; cgroup v1, cgroupfs /kubepods/burstable/pod<uid>/<ctr>
#        in several hierarchies; maps with torch's libtorch_cuda.so
#     1  comm torchrun: torchrun --nproc_per_node=8 --password hunter2 main.py; systemd
#        kubepods-burstable-pod<uid with _>.slice; maps with tensorflow (the command line wins: torch)
#     2  comm "pt (main) 2": env API_KEY=sk-live-1 python -m jax_job.train; cgroup user.slice (no pod)
#     3  python3 caf\xe9 \xff\xfe --secret-file /etc/s (not UTF-8); cgroupfs /kubepods/pod<uid>/<ctr>;
#        maps with tensorflow
#     4  python3, 600 x "é", 4000 x "x", --api-key=leak (too long); systemd kubepods-pod<uid _>.slice;
#        maps with paddle
#     5  python3 serve.py --client-secret=zzz --passwd pw; systemd besteffort, crio; maps with mindspore
#     6  no stat file (went away while being read): skipped and counted
#     7+ python3 worker.py --rank <k> --lr=0.001 batch_size=32 --config /workspace/job<k>/config.yaml --fp16;
#        cgroupfs /kubepods/besteffort/pod<uid>/<ctr>; maps with torch; the tree's workspace/job<k>/config.yaml
#        exists and holds "hf_token: cfg_secret_value" (a config file is never to be read)
#   other processes: comm sleep, cmdline "sleep infinity", cgroup /system.slice/ssh.service, maps of
#   python and libraries only.
#
# --edit changes a tree made by this script, the way a node changes:
#   --remove-gpu I     card<I> vanishes (its class entry and PCI folder go)
#   --replace-gpu I    card<I> is another board: unique_id a1b2c3d4ffff<I %04x>, serial_number 692251999<I>
#   --replace-rdma I   mlx5_<I> is another adapter: node_guid 0c42:a103:ff<I %02x>:0b4e, every data
#                      counter back to 10 (words)
#   --exit-proc PID    proc/PID goes away
#   --start-gpu-proc   a new GPU process at the next pid after the highest one: as k >= 7 above (fds of
#                      pattern 0), whatever its k
#   --advance S        S seconds pass: proc/uptime's numbers grow by S (and 4*S), and every process with a
#                      stat gains 10*(k%8+1)*S utime and 5*S stime ticks: with USER_HZ 100 (CLK_TCK on
#                      Linux) its CPU over those S seconds is 10*(k%8+1)+5 % (15 for k 0, 25 for k 1 ...)
#   --ras-error I      card<I>'s ras/umc_err_count says "ue: 2\nce: <I>" (unhealthy, "ras ue 2 ce <I>")
set -euo pipefail

usage() {
	sed -n '2,15p' "$0" >&2
	exit 2
}
die() {
	echo "make_tree.sh: $*" >&2
	exit 2
}
num() { [[ $1 =~ ^[0-9]+$ ]] || die "not a number: $1"; }

[[ $# -ge 1 ]] || usage
dir=$1
shift
amd=4 nvidia=2 rdma=2 procs=12 gpu_procs=8 btime=1700000000 edit=0 complete=0 amd_jobs=0
edits=()
while [[ $# -gt 0 ]]; do
	case $1 in
	--amd | --nvidia | --rdma | --procs | --gpu-procs | --btime)
		[[ $# -ge 2 ]] || usage
		num "$2"
		case $1 in
		--amd) amd=$2 ;; --nvidia) nvidia=$2 ;; --rdma) rdma=$2 ;; --procs) procs=$2 ;;
		--gpu-procs) gpu_procs=$2 ;; --btime) btime=$2 ;;
		esac
		shift 2 ;;
	--nvidia-less) nvidia=0; shift ;;
	--complete) complete=1; shift ;;
	--amd-jobs) amd_jobs=1; shift ;;
	--edit) edit=1; shift ;;
	--remove-gpu | --replace-gpu | --replace-rdma | --exit-proc | --ras-error)
		[[ $# -ge 2 ]] || usage
		num "$2"
		edits+=("$1" "$2")
		shift 2 ;;
	--start-gpu-proc) edits+=("$1" 0); shift ;;
	--advance)
		[[ $# -ge 2 ]] || usage
		num "$2"
		edits+=("$1" "$2")
		shift 2 ;;
	-h | --help) usage ;;
	*) echo "make_tree.sh: unknown option $1" >&2; usage ;;
	esac
done

# put FILE TEXT...: writes the text (printf %b escapes: \n) to FILE.
put() {
	local f=$1
	shift
	printf '%b' "$*" >"$f"
}
uid() { printf '5e1f%04d-aaaa-4bbb-8ccc-%012d' "$1" "$1"; }
ctr=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
amd_pci() { printf 'sys/devices/pci0000:00/0000:%02x:00.0' $((0x10 + $1)); }
kfd_id() { printf '%d' $((52000 + 1013 * $1)); }
rdma_dev() { printf 'sys/devices/pci0000:00/0000:%02x:00.0/infiniband/mlx5_%d' $((0x40 + $1)) "$1"; }

# The maps of a process: python, a few hundred library lines, then the framework's library (if any).
maps_filler=
maps() {
	if [[ -z $maps_filler ]]; then
		maps_filler=$(for ((m = 0; m < 300; m++)); do
			printf '7f%010x-7f%010x r-xp 00000000 08:01 %d /usr/lib/x86_64-linux-gnu/libfiller%d.so.1\n' \
				$((m * 4096)) $(((m + 1) * 4096)) $((5000 + m)) "$m"
		done)
	fi
	printf '55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 1311 /usr/bin/python3.11\n'
	printf '55d0c1a00000-55d0c1b00000 rw-p 00000000 00:00 0 [heap]\n'
	printf '%s\n' "$maps_filler"
	local lib=
	case $1 in
	torch) lib=torch/lib/libtorch_cuda.so ;;
	tensorflow) lib=tensorflow/libtensorflow_framework.so.2 ;;
	paddle) lib=paddle/base/libpaddle.so ;;
	mindspore) lib=mindspore/lib/libmindspore_backend.so ;;
	esac
	[[ -z $lib ]] || printf '7f8000000000-7f8001000000 r-xp 00000000 08:01 2001 /opt/venv/lib/python3.11/site-packages/%s\n' "$lib"
	printf '7f9000000000-7f9000001000 rw-s 00000000 00:05 77 /dev/kfd\n'
	printf '7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0 [stack]\n'
}

# fd folder templates, copied into each process (one cp instead of a dozen ln).
tmpl=$(mktemp -d)
trap 'rm -rf "$tmpl"' EXIT
mkdir "$tmpl/base"
ln -s /dev/null "$tmpl/base/0"
ln -s 'pipe:[20001]' "$tmpl/base/1"
ln -s 'socket:[30001]' "$tmpl/base/2"
ln -s 'anon_inode:[eventfd]' "$tmpl/base/3"
ln -s /dev/nvme0n1 "$tmpl/base/4"
# fd_tmpl PATTERN N: the template folder for a GPU process of that pattern and k%8 = N (made once).
fd_tmpl() {
	local t=$tmpl/p$1_$2 n=$2
	if [[ ! -d $t ]]; then
		cp -a "$tmpl/base" "$t"
		case $1 in
		0) local n2=$((n + 1))
		   ((amd_jobs && amd > 0)) && n2=$(((n + 1) % amd))
		   ln -s /dev/kfd "$t/5"; ln -s "/dev/dri/renderD$((128 + n))" "$t/6"
		   ln -s "/dev/dri/renderD$((128 + n))" "$t/7"; ln -s "/dev/dri/renderD$((128 + n2))" "$t/8" ;;
		1) ln -s /dev/nvidiactl "$t/5"; ln -s /dev/nvidia-uvm "$t/6"; ln -s "/dev/nvidia$n" "$t/7" ;;
		2) ln -s "/dev/dri/card$n" "$t/5"; ln -s "/dev/dri/renderD$((128 + n))" "$t/6" ;;
		3) ln -s "/dev/davinci$n" "$t/5"; ln -s /dev/davinci_manager "$t/6" ;;
		esac
	fi
	printf '%s' "$t"
}

long_e='' long_x=''
# write_proc K GPU GENERIC: proc/<1000+K> (its folder exists); GPU 1 for a GPU process, GENERIC 1 for
# the k >= 7 form whatever K is.
write_proc() {
	local k=$1 gpu=$2 generic=$3 pid=$((1000 + $1))
	local p=proc/$pid u us comm=sleep cg='0::/system.slice/ssh.service\n' fw=none cwd=/ stat=1 pat
	local env='SECRET=do-not-read\0HOME=/root\0' state=S
	((k % 4 == 0)) && state=R
	local -a args=(sleep infinity)
	u=$(uid "$k")
	us=${u//-/_}
	if ((gpu)); then
		comm=python3 cwd=/workspace/job$k fw=torch pat=$((k % 4))
		local ndev=8
		((pat == 1 && nvidia == 0)) && pat=0
		((amd_jobs && pat % 2 == 1)) && pat=0
		((amd_jobs && amd > 0)) && ndev=$amd
		((generic)) && pat=0
		cp -a "$(fd_tmpl "$pat" $((k % ndev)))" "$p/fd"
		local which=$k
		((generic || k >= 7)) && which=7
		case $which in
		0) args=(python3 train.py --token=abc123 --epochs 3)
		   cg="12:memory:/kubepods/burstable/pod$u/$ctr\n11:cpu,cpuacct:/kubepods/burstable/pod$u/$ctr\n"
		   cg+="4:devices:/kubepods/burstable/pod$u/$ctr\n1:name=systemd:/kubepods/burstable/pod$u/$ctr\n0::/\n" ;;
		1) comm=torchrun args=(torchrun --nproc_per_node=8 --password hunter2 main.py) fw=tensorflow
		   cg="0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod$us.slice/cri-containerd-$ctr.scope\n" ;;
		2) comm='pt (main) 2' args=(env API_KEY=sk-live-1 python -m jax_job.train) fw=none
		   cg='0::/user.slice/user-1000.slice/session-3.scope\n' ;;
		3) args=(python3 $'caf\xe9' $'\xff\xfe' --secret-file /etc/s) fw=tensorflow
		   cg="0::/kubepods/pod$u/$ctr\n" ;;
		4) [[ -n $long_e ]] || { long_e=$(printf 'é%.0s' $(seq 600)); long_x=$(printf 'x%.0s' $(seq 4000)); }
		   args=(python3 "$long_e" "$long_x" --api-key=leak) fw=paddle
		   cg="0::/kubepods.slice/kubepods-pod$us.slice/cri-containerd-$ctr.scope\n" ;;
		5) args=(python3 serve.py --client-secret=zzz --passwd pw) fw=mindspore
		   cg="0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod$us.slice/crio-$ctr.scope\n" ;;
		6) args=(python3 gone.py) stat=0
		   cg="0::/kubepods/besteffort/pod$u/$ctr\n" ;;
		*) args=(python3 worker.py --rank "$k" --lr=0.001 batch_size=32 --config "/workspace/job$k/config.yaml" --fp16)
		   mkdir -p "workspace/job$k"
		   put "workspace/job$k/config.yaml" 'hf_token: cfg_secret_value\n'
		   cg="0::/kubepods/besteffort/pod$u/$ctr\n" ;;
		esac
		local vis=HIP_VISIBLE_DEVICES
		((pat == 1)) && vis=CUDA_VISIBLE_DEVICES
		((pat == 3)) && vis=ASCEND_RT_VISIBLE_DEVICES
		env+="$vis=$((k % 8))\0WORLD_SIZE=8\0HF_TOKEN=hf_secret_value\0RANK=$k\0"
		env+="RANK_TABLE_FILE=/etc/hccl.json\0LOCAL_RANK=$((k % 8))\0MASTER_ADDR=10.0.0.1\0MASTER_PORT=29500\0"
	else
		cp -a "$tmpl/base" "$p/fd"
	fi
	put "$p/comm" "$comm\n"
	printf '%s\0' "${args[@]}" >"$p/cmdline"
	put "$p/cgroup" "$cg"
	put "$p/environ" "$env"
	maps "$fw" >"$p/maps"
	ln -s "$cwd" "$p/cwd"
	if ((stat)); then
		printf '%d (%s) %s %d %d %d 0 -1 4194560 100 0 0 0 %d 3 0 0 20 0 %d 0 %d 1000000 %d ' \
			"$pid" "$comm" "$state" $((900 + k)) $((1000 + k - k % 2)) "$pid" $((5 + k)) $((4 + k)) \
			$((100000 + 1000 * k)) $((500 + 100 * k)) >"$p/stat"
		printf '18446744073709551615 1 1 0 0 0 0 0 16781312 2 0 0 0 17 %d 0 0 0 0 0 0 0 0 0 0 0 0 0\n' \
			$((k % 4)) >>"$p/stat"
	fi
}

# ---- --edit ----
if ((edit)); then
	[[ -d $dir/proc && -d $dir/sys/class/drm ]] || die "$dir is not a tree made by make_tree.sh"
	cd "$dir"
	set -- "${edits[@]}"
	while [[ $# -gt 0 ]]; do
		op=$1 i=$2
		shift 2
		case $op in
		--remove-gpu)
			[[ -L sys/class/drm/card$i ]] || die "no card$i"
			rm -rf "sys/class/drm/card$i" "$(amd_pci "$i")" ;;
		--replace-gpu)
			pci=$(amd_pci "$i")
			[[ -d $pci ]] || die "no card$i"
			put "$pci/unique_id" "$(printf 'a1b2c3d4ffff%04x' "$i")\n"
			put "$pci/serial_number" "692251999$i\n" ;;
		--replace-rdma)
			dev=$(rdma_dev "$i")
			[[ -d $dev ]] || die "no mlx5_$i"
			put "$dev/node_guid" "$(printf '0c42:a103:ff%02x:0b4e' "$i")\n"
			for f in "$dev"/ports/*/counters/port_rcv_data "$dev"/ports/*/counters/port_xmit_data; do
				put "$f" '10\n'
			done ;;
		--exit-proc)
			[[ -d proc/$i ]] || die "no proc/$i"
			rm -rf "proc/$i" ;;
		--ras-error)
			pci=$(amd_pci "$i")
			[[ -d $pci/ras ]] || die "no card$i"
			put "$pci/ras/umc_err_count" "ue: 2\nce: $i\n" ;;
		--start-gpu-proc)
			pid=1000
			for d in proc/[0-9]*; do
				d=${d#proc/}
				[[ $d =~ ^[0-9]+$ ]] && ((d >= pid)) && pid=$((d + 1))
			done
			mkdir "proc/$pid"
			write_proc $((pid - 1000)) 1 1
			echo "$pid" ;;
		--advance)
			read -r up idle <proc/uptime
			cs=$((10#${up%.*} * 100 + 10#${up#*.} + 100 * i))
			ics=$((10#${idle%.*} * 100 + 10#${idle#*.} + 400 * i))
			printf '%d.%02d %d.%02d\n' $((cs / 100)) $((cs % 100)) $((ics / 100)) $((ics % 100)) >proc/uptime
			for f in proc/[0-9]*/stat; do
				[[ -f $f ]] || continue
				k=${f#proc/}
				k=$((${k%/stat} - 1000))
				line=$(<"$f")
				read -ra fs <<<"${line##*) }"
				fs[11]=$((fs[11] + 10 * (k % 8 + 1) * i))
				fs[12]=$((fs[12] + 5 * i))
				printf '%s) %s\n' "${line%) *}" "${fs[*]}" >"$f"
			done ;;
		esac
	done
	exit 0
fi

# ---- a new tree ----
((amd <= 200 && rdma <= 200 && nvidia <= 2 && gpu_procs <= procs && procs <= 100000)) ||
	die "out of range (amd, rdma <= 200; nvidia <= 2; gpu-procs <= procs <= 100000)"
((${#edits[@]} == 0)) || die "edits need --edit"
mkdir -p "$dir"
[[ -z $(ls -A "$dir") ]] || die "$dir is not empty"
cd "$dir"

# sys/class/drm
mkdir -p sys/class/drm sys/bus/pci/devices sys/class/infiniband
put sys/class/drm/version 'drm 1.1.0 20060810\n'
for ((i = 0; i < amd; i++)); do
	pci=$(amd_pci "$i")
	rel=../../${pci#sys/}
	h=$pci/hwmon/hwmon$((i + 2))
	mkdir -p "$pci/drm/card$i" "$h"
	ln -s ../.. "$pci/drm/card$i/device"
	ln -s "$rel/drm/card$i" "sys/class/drm/card$i"
	put "$pci/gpu_busy_percent" "$((7 * i + 3))\n"
	put "$pci/mem_info_vram_total" "$(((196592 + i) * 1048576 + 4096))\n"
	put "$pci/mem_info_vram_used" "$(((i + 1) * 1073741824))\n"
	put "$pci/device" '0x74a1\n'
	put "$pci/vendor" '0x1002\n'
	put "$pci/serial_number" "692251000$i\n"
	put "$h/name" 'amdgpu\n'
	put "$h/temp1_input" "$(((40 + i) * 1000 + 500))\n"
	if ((amd >= 2 && i == amd - 1 && !complete)); then
		put "$h/power1_input" "$(((300 + i) * 1000000 + 250000))\n"
	else
		put "$pci/product_name" 'AMD Instinct MI300X\n'
		put "$pci/unique_id" "$(printf 'a1b2c3d40000%04x' "$i")\n"
		put "$pci/numa_node" "$((i < amd / 2 ? 0 : 1))\n"
		put "$h/power1_average" "$(((300 + i) * 1000000 + 250000))\n"
	fi
	mkdir -p "$pci/drm/renderD$((128 + i))" "$pci/ras"
	ln -s ../.. "$pci/drm/renderD$((128 + i))/device"
	((i != 0)) || ln -s "$rel/drm/renderD128" sys/class/drm/renderD128
	put "$pci/ras/umc_err_count" "ue: 0\nce: $i\n"
	put "$pci/ras/features" 'feature mask: 0x3fbf\n'
done
# kfd topology: a CPU node, then the cards in reverse order
kt=sys/class/kfd/kfd/topology/nodes
mkdir -p "$kt/0" sys/class/kfd/kfd/proc
put "$kt/0/properties" 'cpu_cores_count 64\nsimd_count 0\ndrm_render_minor 0\n'
for ((j = 0; j < amd; j++)); do
	i=$((amd - 1 - j))
	mkdir -p "$kt/$((1 + j))"
	put "$kt/$((1 + j))/gpu_id" "$(kfd_id "$i")\n"
	put "$kt/$((1 + j))/name" 'ip_discovery\n'
	put "$kt/$((1 + j))/properties" "cpu_cores_count 0\nsimd_count 1216\ndrm_render_minor $((128 + i))\nlocation_id $((0x1000 + 256 * i))\n"
done
# A connector (ignored by its name; its device/ looks like a GPU on purpose) and the BMC's VGA card.
mkdir -p sys/class/drm/card0-DP-1/device
put sys/class/drm/card0-DP-1/status 'connected\n'
put sys/class/drm/card0-DP-1/device/gpu_busy_percent '99\n'
put sys/class/drm/card0-DP-1/device/mem_info_vram_total '1073741824\n'
bmc=sys/devices/pci0000:00/0000:00:02.0
mkdir -p "$bmc/drm/card$amd"
ln -s ../.. "$bmc/drm/card$amd/device"
ln -s "../../devices/pci0000:00/0000:00:02.0/drm/card$amd" "sys/class/drm/card$amd"
put "$bmc/vendor" '0x1a03\n'
put "$bmc/device" '0x2000\n'

# the NVIDIA GPUs' PCI devices (numa)
for ((k = 0; k < nvidia; k++)); do
	bus=$(printf '%02x' $((0x3b + 0x4b * k)))
	pci=sys/devices/pci0000:$bus/0000:$bus:00.0
	mkdir -p "$pci"
	put "$pci/numa_node" "$k\n"
	put "$pci/vendor" '0x10de\n'
	ln -s "../../../devices/pci0000:$bus/0000:$bus:00.0" "sys/bus/pci/devices/0000:$bus:00.0"
done

# sys/class/infiniband
for ((i = 0; i < rdma; i++)); do
	dev=$(rdma_dev "$i")
	ports=1
	((i > 0)) || ports=2
	for ((p = 1; p <= ports; p++)); do
		c=$dev/ports/$p/counters
		mkdir -p "$c" "$dev/ports/$p/hw_counters"
		if ((p == 1)); then
			put "$c/port_rcv_data" "$((1000000 * (i + 1)))\n"
			put "$c/port_xmit_data" "$((2000000 * (i + 1)))\n"
		else
			put "$c/port_rcv_data" '500\n'
			put "$c/port_xmit_data" '700\n'
		fi
		put "$c/port_rcv_packets" "$((1000 * (i + 1)))\n"
		put "$c/port_xmit_packets" "$((2000 * (i + 1)))\n"
		put "$dev/ports/$p/hw_counters/out_of_buffer" '0\n'
		put "$dev/ports/$p/rate" '400 Gb/sec (4X NDR)\n'
	done
	put "$dev/node_guid" "$(printf '0c42:a103:00%02x:0b4e' "$i")\n"
	put "$dev/fw_ver" '28.39.1002\n'
	put "$dev/node_type" '1: CA\n'
	if ((i % 2 == 0)); then
		put "$dev/ports/1/state" '4: ACTIVE\n'
		put "$dev/ports/1/link_layer" 'InfiniBand\n'
	else
		put "$dev/ports/1/state" '1: DOWN\n'
		put "$dev/ports/1/link_layer" 'Ethernet\n'
	fi
	ln -s "../../${dev#sys/}" "sys/class/infiniband/mlx5_$i"
done

# proc
mkdir -p proc/sys/kernel proc/12ab proc/999
put proc/sys/kernel/pid_max '4194304\n'
put proc/uptime '12345.67 23456.78\n'
ln -s 1000 proc/self
ln -s 1000/task/1000 proc/thread-self
{
	printf 'cpu  100 0 200 30000 10 0 5 0 0 0\n'
	for c in 0 1 2 3; do printf 'cpu%d 25 0 50 7500 2 0 1 0 0 0\n' "$c"; done
	printf 'intr 123456'
	printf ' %d' $(seq 0 2999)
	printf '\nctxt 987654\nbtime %s\nprocesses 4321\nprocs_running 2\nprocs_blocked 0\n' "$btime"
	printf 'softirq 1 2 3 4 5 6 7 8 9 10 11\n'
} >proc/stat
pids=()
for ((k = 0; k < procs; k++)); do pids+=("proc/$((1000 + k))"); done
((procs == 0)) || mkdir -p "${pids[@]}"
for ((k = 0; k < procs; k++)); do
	write_proc "$k" $((k < gpu_procs)) 0
done
# kfd's per-process VRAM (sys/class/kfd/kfd/proc, see the header)
if ((amd > 0)); then
	mkdir -p sys/class/kfd/kfd/proc/999
	put sys/class/kfd/kfd/proc/999/vram_"$(kfd_id 0)" '4096\n'
	for ((k = 0; k < gpu_procs; k++)); do
		((k % 4 == 0 || k % 4 == 2)) || continue
		kp=sys/class/kfd/kfd/proc/$((1000 + k))
		mkdir -p "$kp"
		put "$kp/pasid" "$((32768 + k))\n"
		put "$kp/vram_$(kfd_id $((k % amd)))" "$(((k + 1) * 268435456))\n"
		if ((k % 4 == 0 && amd >= 2)); then
			put "$kp/vram_$(kfd_id $(((k + 1) % amd)))" "$(((k + 1) * 16777216))\n"
		fi
		if ((k % 4 == 0 && amd >= 3)); then
			put "$kp/vram_$(kfd_id $(((k + 2) % amd)))" '0\n'
		fi
	done
fi
