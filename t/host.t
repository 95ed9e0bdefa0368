#!/usr/bin/perl
# host.t - run every host unit test binary (build/host/test_*, or the
# directory in $WEFT_HOST_TEST_DIR) and merge their TAP into one stream.
#
# Each binary prints TAP on stdout with the plan at the end (tests/host/tap.h).
# Its test points are renumbered and named "BINARY: description"; a binary
# that exits non-zero, dies on a signal, hangs, prints no plan or runs a
# different number of tests than it planned adds one failing test point.
# Its stderr (sanitizer reports) goes straight through to ours.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(basename dirname);
use IO::Select;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);

my $root = abs_path(dirname(abs_path($0)) . '/..');
my $dir = $ENV{WEFT_HOST_TEST_DIR} // "$root/build/host";
my $timeout = $ENV{WEFT_HOST_TIMEOUT} || 300;
$timeout *= $ENV{WEFT_TIMEOUT_SCALE} if ($ENV{WEFT_TIMEOUT_SCALE} // '') =~ /^\d*\.?\d+$/
	&& $ENV{WEFT_TIMEOUT_SCALE} > 0;

$| = 1;
my ($n, $failed) = (0, 0);

sub point {
	my ($ok, $desc, $directive) = @_;
	$n++;
	$failed++ unless $ok || (defined $directive && $directive =~ /^#\s*todo/i);
	print(($ok ? 'ok' : 'not ok'), " $n - $desc", (defined $directive ? " $directive" : ''), "\n");
}

my @bins;
if (opendir(my $dh, $dir)) {
	@bins = sort grep { /^test_/ && -f "$dir/$_" && -x _ } readdir $dh;
	closedir $dh;
}
if (!@bins) {
	point(0, "host test binaries found in $dir");
	print "# build them first (make host-tests?)\n";
	print "1..$n\n";
	exit 1;
}

for my $bin (@bins) {
	run_one($bin, "$dir/$bin");
}
print "1..$n\n";
exit($failed ? 1 : 0);

sub run_one {
	my ($name, $path) = @_;
	pipe(my $r, my $w) or die "pipe: $!";
	my $pid = fork() // die "fork: $!";
	if (!$pid) {
		POSIX::setpgid(0, 0);
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>&', $w) or POSIX::_exit(126);
		{ no warnings 'exec'; exec { $path } $path; }
		print STDERR "host.t: cannot run $path: $!\n";
		POSIX::_exit(127);
	}
	POSIX::setpgid($pid, $pid);
	close $w;

	my ($buf, $plan, $plan_extra, $ran, $nfail, $bailed, $timed_out) = (q(), undef, q(), 0, 0, undef, 0);
	my $deadline = time + $timeout;
	my $sel = IO::Select->new($r);
	my $handle = sub {
		my ($line) = @_;
		$line =~ s/\r$//;
		if ($line =~ /^(not\s+)?ok\b\s*(?:\d+)?\s*(?:-\s*)?(.*)$/) {
			my ($not, $rest) = ($1, $2);
			my $dirv;
			($rest, $dirv) = ($1, $2) if $rest =~ /^(.*?)\s*((?<!\\)#\s*(?:skip|todo)\b.*)$/i;
			$ran++;
			point(!$not, "$name: $rest", $dirv);
			$nfail++ if $not && !(defined $dirv && $dirv =~ /todo/i);
		} elsif ($line =~ /^1\.\.(\d+)\s*(.*)$/) {
			($plan, $plan_extra) = ($1, $2);
		} elsif ($line =~ /^Bail out!\s*(.*)$/) {
			$bailed = $1;
		} elsif ($line =~ /^#/) {
			print "$line\n";
		} elsif ($line =~ /^TAP version/ || $line !~ /\S/) {
			# nothing
		} else {
			print "# $name: $line\n";
		}
	};
	while ($sel->count) {
		my $left = $deadline - time;
		if ($left <= 0) { $timed_out = 1; last }
		next unless $sel->can_read($left < 1 ? $left : 1);
		my $got = sysread($r, my $chunk, 65536);
		next if !defined $got && $!{EINTR};
		if (!$got) { $sel->remove($r); last }
		$buf .= $chunk;
		$handle->($1) while $buf =~ s/^([^\n]*)\n//;
	}
	$handle->($buf) if $buf ne '' && !$timed_out;
	close $r;

	my $status;
	if ($timed_out) {
		kill('KILL', -$pid) or kill('KILL', $pid);
	}
	waitpid($pid, 0);
	$status = $?;

	my @problems;
	push @problems, "timed out after ${timeout}s" if $timed_out;
	push @problems, "bailed out: $bailed" if defined $bailed;
	if (!$timed_out) {
		if ($status & 127) {
			push @problems, 'killed by signal ' . ($status & 127);
		} elsif ($status >> 8) {
			push @problems, q(exit status ) . ($status >> 8)
				. ($nfail ? " after $nfail failed test" . ($nfail > 1 ? q(s) : q()) : q());
		}
	}
	if (!defined $plan) {
		push @problems, 'no plan printed';
	} elsif ($plan != $ran) {
		push @problems, "planned $plan tests, ran $ran";
	}
	if (@problems) {
		point(0, "$name: " . join('; ', @problems));
	} elsif ($plan == 0) {
		my $why = $plan_extra =~ /#\s*skip\S*\s*(.*)/i ? $1 : 'no tests';
		point(1, "$name: skipped", "# SKIP $why");
	}
}
