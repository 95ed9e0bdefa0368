#!/usr/bin/perl
# smp-boot-repeat.t - boot with four CPUs many times (WEFT_SMP_BOOTS, default
# 20), each with the one-test selection smp_boot, to catch rare bring-up
# hangs: an AP that never answers, a start-up IPI lost, a TSC handshake
# that deadlocks. One TAP point per boot; a failing boot keeps its log as
# build/logs/smpboot-N.log.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);

my $root = abs_path(dirname(abs_path($0)) . '/..');
chdir $root or die "cannot cd to $root: $!\n";
my $boots = $ENV{WEFT_SMP_BOOTS} || 20;
$| = 1;
print "1..$boots\n";
for my $i (1 .. $boots) {
	my $name = "smpboot-$i";
	my $out = `tools/weft-test --name $name --smp 4 --timeout 60 --append "test=smp_boot panic=exit" --expect 'smp: 4 CPUs online' --reject 'did not start|stopped in' 2>&1`;
	my $status = $? >> 8;
	my ($ms) = $out =~ /all_cpus_online: \d+ checks passed in (\d+) us/;
	my $ok = $status == 0;
	print(($ok ? '' : 'not '), "ok $i - boot $i at -smp 4: every CPU came up\n");
	if (!$ok) {
		print map { "# $_\n" } grep { /^not ok|^# / } split /\n/, $out;
	}
}
