# WeftTapMerge.pm - run host programs that print TAP and merge their points
# into one TAP stream (used by t/host.t and t/user-host.t).
#
# Each program's test points are renumbered and named "NAME: description";
# its "#" lines pass through. A program that hangs (timeout), bails out,
# prints no plan, runs a different number of points than it planned, or
# ends differently than expected (exit 0, or death by the signal given)
# adds one failing point. A plan of 0 with "# SKIP why" becomes one skipped
# point. Perl 5 core modules only.
package WeftTapMerge;
use strict;
use warnings;
use IO::Select;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time);

my ($n, $failed) = (0, 0);

# point(OK, DESCRIPTION[, DIRECTIVE]): print one merged test point.
sub point {
	my ($ok, $desc, $directive) = @_;
	$n++;
	$failed++ unless $ok || (defined $directive && $directive =~ /^#\s*todo/i);
	print(($ok ? 'ok' : 'not ok'), " $n - $desc", (defined $directive ? " $directive" : ''), "\n");
}

# finish(): print the plan; returns the exit status for the .t file.
sub finish {
	print "1..$n\n";
	return $failed ? 1 : 0;
}

# The timeout of one program: $default seconds times $WEFT_TIMEOUT_SCALE.
sub timeout_for {
	my ($default) = @_;
	my $s = $ENV{WEFT_TIMEOUT_SCALE} // '';
	return $default * (($s =~ /^\d*\.?\d+$/ && $s > 0) ? $s : 1);
}

# run_one(NAME, [ARGV...], TIMEOUT[, EXPECT_SIGNAL]): run one program with
# stdin from /dev/null in its own process group; EXPECT_SIGNAL (a number)
# says it must die of that signal instead of exiting 0.
sub run_one {
	my ($name, $argv, $timeout, $expect_signal) = @_;
	pipe(my $r, my $w) or die "pipe: $!";
	my $pid = fork() // die "fork: $!";
	if (!$pid) {
		POSIX::setpgid(0, 0);
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>&', $w) or POSIX::_exit(126);
		{ no warnings 'exec'; exec { $argv->[0] } @$argv; }
		print STDERR "WeftTapMerge: cannot run $argv->[0]: $!\n";
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

	if ($timed_out) {
		kill('KILL', -$pid) or kill('KILL', $pid);
	}
	waitpid($pid, 0);
	my $status = $?;

	my @problems;
	push @problems, "timed out after ${timeout}s" if $timed_out;
	push @problems, "bailed out: $bailed" if defined $bailed;
	if (!$timed_out) {
		my $sig = $status & 127;
		if ($expect_signal) {
			push @problems, "expected death by signal $expect_signal, got "
				. ($sig ? "signal $sig" : 'exit status ' . ($status >> 8))
				unless $sig == $expect_signal;
		} elsif ($sig) {
			push @problems, "killed by signal $sig";
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

1;
