#!/usr/bin/perl
# user-host.t - the user test programs state Linux's behaviour, so each one
# must also pass on the host's own Linux kernel: run every program the
# kernel's user suite runs (the USER_TEST and USER_FAULT_TEST lines of
# tests/kernel/test_user.c: the same arguments, the same expected fatal
# signal) directly on this machine and merge their TAP.
#
# A program that needs something this host's kernel lacks says so with a
# TAP skip of its own (t_ioperm on a kernel without ioperm), never here.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use POSIX ();
use lib dirname(abs_path($0)) . '/../tools/lib';
use WeftTapMerge;

my $root = abs_path(dirname(abs_path($0)) . '/..');
my $bin = "$root/build/user";
my $timeout = WeftTapMerge::timeout_for(120);
$| = 1;

open(my $fh, '<', "$root/tests/kernel/test_user.c") or die "test_user.c: $!";
my @progs;
while (<$fh>) {
	if (/^USER_TEST\((\w+)((?:,\s*"[^"]*")*),\s*NULL\)/) {
		my ($name, $args) = ($1, $2);
		push @progs, [$name, [$args =~ /"([^"]*)"/g], 0];
	} elsif (/^USER_FAULT_TEST\((\w+),\s*(SIG\w+)\)/) {
		my $sig = eval "POSIX::$2()" or die "unknown signal $2";
		push @progs, [$1, [], $sig];
	}
}
close $fh;
WeftTapMerge::point(0, 'test_user.c names user test programs') unless @progs;

for my $p (reverse @progs) {   # the suite's order: the simplest first
	my ($name, $args, $sig) = @$p;
	WeftTapMerge::run_one($name, ["$bin/$name", @$args], $timeout, $sig);
}
exit WeftTapMerge::finish();
