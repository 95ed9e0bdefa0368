#!/usr/bin/perl
# smp-sizes.t - weft boots on 1 to 16 CPUs: at -smp 1, 3, 8 and 16 every CPU
# the firmware lists comes up (suite smp_boot: distinct percpu areas, TSS
# and IST stacks, each CPU answering a call), and at 16 - MAX_CPUS - the
# smp suite runs too (IPIs, ping-pong, lock torture with threads on every
# CPU). Multi-threaded TCG with more virtual CPUs than the host has cores
# also shakes out code that assumes a CPU answers promptly. One TAP point
# per machine size; a failing run keeps its log as build/logs/smp-N.log.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);

my $root = abs_path(dirname(abs_path($0)) . '/..');
chdir $root or die "cannot cd to $root: $!\n";
my @runs = ([1, 'smp_boot', 60], [3, 'smp_boot', 90], [8, 'smp_boot', 180],
	    [16, 'smp_boot,smp,balance', 900]);
$| = 1;
print "1..", scalar @runs, "\n";
my $i = 0;
for my $r (@runs) {
	my ($n, $suites, $limit) = @$r;
	$i++;
	my $online = $n == 1 ? 'smp: the firmware lists no other CPU' : "smp: $n CPUs online";
	my $out = `tools/weft-test --name smp-$n --smp $n --mem 512M --timeout $limit --append "test=$suites panic=exit" --expect '$online' --reject 'did not start|stopped in' 2>&1`;
	my $ok = ($? >> 8) == 0;
	print(($ok ? '' : 'not '), "ok $i - -smp $n: every CPU came up; suites $suites passed\n");
	print map { "# $_\n" } grep { /^not ok|^# / } split /\n/, $out unless $ok;
}
