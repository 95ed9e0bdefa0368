#!/usr/bin/perl
# host.t - run every host unit test binary (build/host/test_*, or the
# directory in $WEFT_HOST_TEST_DIR) and merge their TAP into one stream.
#
# Each binary prints TAP on stdout with the plan at the end (tests/host/tap.h).
# Its test points are renumbered and named "BINARY: description"; a binary
# that exits non-zero, dies on a signal, hangs, prints no plan or runs a
# different number of tests than it planned adds one failing test point
# (tools/lib/WeftTapMerge.pm). Its stderr (sanitizer reports) goes straight
# through to ours.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use lib dirname(abs_path($0)) . '/../tools/lib';
use WeftTapMerge;

my $root = abs_path(dirname(abs_path($0)) . '/..');
my $dir = $ENV{WEFT_HOST_TEST_DIR} // "$root/build/host";
my $timeout = WeftTapMerge::timeout_for($ENV{WEFT_HOST_TIMEOUT} || 300);

$| = 1;
my @bins;
if (opendir(my $dh, $dir)) {
	@bins = sort grep { /^test_/ && -f "$dir/$_" && -x _ } readdir $dh;
	closedir $dh;
}
if (!@bins) {
	WeftTapMerge::point(0, "host test binaries found in $dir");
	print "# build them first (make host-tests?)\n";
}
WeftTapMerge::run_one($_, ["$dir/$_"], $timeout) for @bins;
exit WeftTapMerge::finish();
