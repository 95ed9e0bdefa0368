#!/bin/sh
# User address spaces on four CPUs: the kernel-level shootdown, lazy-TLB
# and teardown tests (suite smp_mm), then every user program (suite user),
# whose threads run on several CPUs once they ask for it with
# sched_setaffinity (t_smp_mm: shootdowns against threads on other CPUs,
# a cross-CPU futex ping-pong).
cd "$(dirname "$0")/.." && exec tools/weft-test --name user-smp4 --smp 4 --mem 512M --timeout 900 \
	--extra "-initrd build/initramfs.cpio" --append "test=smp_mm,user panic=exit" \
	--expect 'smp: 4 CPUs online'
