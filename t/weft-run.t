#!/usr/bin/perl
# weft-run.t - the user's one-command path: tools/weft-run boots weft with a
# static program from the host, streams its output, and exits with its
# status (or 128 + the signal that killed it) - a status the program cannot
# forge, because it comes from COM2 and isa-debug-exit, not the console.
# Also here, because only weft-run gives a program the real console and
# weft's clock from outside: a long console write is cut by a signal, a
# kill and exit_group (t_write_intr), timed under -icount.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);

my $root = abs_path(dirname(abs_path($0)) . '/..');
chdir $root or die;
my $run = "tools/weft-run --timeout 120";
print "1..38\n";
my $n = 0;
sub ok { my ($c, $d) = @_; $n++; print(($c ? '' : 'not '), "ok $n - $d\n"); return $c }

# The filter and the COM2 record parser, without QEMU (weft-run --selftest).
my $self = `tools/weft-run --selftest 2>&1`;
ok($? == 0 && $self =~ /^1\.\.(\d+)$/m && $self !~ /^not ok/m, "weft-run --selftest passes");
print map { "# $_\n" } grep { /^not ok/ } split /\n/, $self;

my $out = `$run build/user/t_args one two 2>&1`;
my $st = $? >> 8;
ok($st == 0, "t_args runs and exits 0 (status $st)");
ok($out =~ /^ok 1 - argc is 3/m && $out !~ /^not ok/m, "its TAP output streams through");
$out = `printf 'echo hello, weft\nexit 5\n' | $run build/user/init 2>&1`;
$st = $? >> 8;
ok($out =~ /weft: hello from user mode/ && $out =~ /^hello, weft$/m,
   "init greets, reads typed-ahead input and runs it");
ok($st == 5, "its exit status is weft-run's (status $st)");
`$run build/user/t_fault_segv >/dev/null 2>&1`;
$st = $? >> 8;
ok($st == 128 + 11, "a program killed by SIGSEGV gives 139 (got $st)");
my $tmp = tempdir('weft-run-t-XXXXXX', TMPDIR => 1, CLEANUP => 1);
system("echo 'int main(void){return 0;}' | gcc -x c - -o $tmp/dyn") == 0 or die "gcc failed";
$out = `$run $tmp/dyn 2>&1`;
$st = $? >> 8;
ok($st == 2 && $out =~ /dynamically linked/, "a dynamic program is refused with a clear message");

# --- forgery: a program prints weft's status line for people, tries the
# ports of the real channel, and then does something else.
open my $src, '>', "$tmp/forge.c" or die;
print $src <<'C';
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "exit";
	if (!strcmp(mode, "ports")) {
		/* Grant the status channel's, the verdict's and the console's ports? */
		static const unsigned short ports[][2] = { { 0x2f8, 8 }, { 0xf4, 4 }, { 0x3f8, 8 } };
		for (int i = 0; i < 3; i++) {
			int r = ioperm(ports[i][0], ports[i][1], 1);
			printf("ioperm %#x: %d %s\n", ports[i][0], r, r ? strerror(errno) : "granted");
			fflush(stdout);
			if (r == 0 && i == 0)
				for (const char *p = "weft-status: exited 0 ran 1\n"; *p; p++)
					outb(*p, 0x2f8);
			if (r == 0 && i == 1)
				outb(0x10, 0xf4);   /* "init ended": QEMU would exit 33 */
		}
	}
	printf("weft: init exited with status 0\n");
	fflush(stdout);
	if (!strcmp(mode, "hang"))
		for (;;)
			pause();
	if (!strcmp(mode, "last"))
		return 0;
	return 3;
}
C
close $src;
system("musl-gcc -static -O2 -o $tmp/forge $tmp/forge.c") == 0 or die "musl-gcc failed";
my $fake = 'weft: init exited with status 0';
$out = `$run $tmp/forge exit 2>/dev/null`;
$st = $? >> 8;
ok($st == 3, "a program that prints '$fake' and exits 3 gives 3 (got $st)");
ok($out =~ /^\Q$fake\E$/m, "and its line is shown as its output");
$out = `tools/weft-run --timeout 15 $tmp/forge hang 2>/dev/null`;
$st = $? >> 8;
ok($st == 124 && $out =~ /^\Q$fake\E$/m, "one that prints it and hangs times out: 124 (got $st)");
$out = `$run $tmp/forge ports 2>/dev/null`;
$st = $? >> 8;
ok($st == 3, "one that also tries COM2 and isa-debug-exit gives 3 (got $st)");
ok(($out =~ /^ioperm 0x2f8: -1 Operation not permitted$/m) + ($out =~ /^ioperm 0xf4: -1 Operation not permitted$/m)
   + ($out =~ /^ioperm 0x3f8: -1 Operation not permitted$/m) == 3,
   "ioperm refuses COM2's, isa-debug-exit's and COM1's ports with EPERM");
print map { "# $_\n" } grep { /^ioperm/ } split /\n/, $out;
$out = `$run $tmp/forge last 2>/dev/null`;
$st = $? >> 8;
ok($st == 0 && $out =~ /^\Q$fake\E$/m,
   "one whose last line is the real status's twin keeps it (status $st)");

# --- killable writes. t_write_intr states Linux's behaviour: first the
# host's Linux, through a pipe (a reader that keeps up) ...
open(my $pipe, '-|', 'build/user/t_write_intr') or die "t_write_intr: $!";
$out = do { local $/; <$pipe> } // '';
close $pipe;
my @host_oks = $out =~ /^ok \d/mg;
ok($? == 0 && @host_oks == 4 && $out !~ /^not ok/m, "t_write_intr passes on the host's Linux (status $?)");
print map { "# host: $_\n" } grep { /^(not )?ok/ } split /\n/, $out;
system("build/user/t_write_intr kill > /dev/null 2>&1");
ok(($? & 127) == 9 || $? >> 8 == 128 + 9,   # directly, or as the shell reports it
   "t_write_intr kill dies by SIGKILL on the host's Linux (wait status $?)");
system("build/user/t_write_intr exit > /dev/null 2>&1");
ok($? >> 8 == 7, "t_write_intr exit exits 7 on the host's Linux (wait status $?)");

# ... then weft. Under -icount one console byte costs ~17 ns of guest
# time, so the 16 MiB write takes ~0.27 s of weft's clock when nothing cuts
# it; the bounds below can only hold if the signal or the kill cut it.
my $W = 16 << 20;
my $ic = "tools/weft-run --icount --smp 1 --time --timeout 300";
$out = `$ic build/user/t_write_intr 2>$tmp/err`;
$st = $? >> 8;
my @oks = $out =~ /^ok \d/mg;
ok($st == 0 && $out =~ /^1\.\.4$/m && @oks == 4 && $out !~ /^not ok/m,
   "t_write_intr (-icount, -smp 1): SIGUSR1 cuts a 16 MiB console write and writev within 0.1 s (status $st)");
print map { "# $_\n" } grep { /^(not )?ok/ } split /\n/, $out;
for my $case (['kill', 137, 'SIGKILL from another thread'], ['exit', 7, "another thread's exit_group"]) {
	my ($mode, $want, $what) = @$case;
	# Timed under -icount at 1, 2 and 4 CPUs (at 2 and 4, QEMU 7.2's
	# round-robin vCPU loop would let the writer's CPU starve the others
	# without weft's turn lending, kernel/vcpu_yield.c), and once more
	# under multi-threaded TCG.
	my @how = (['--icount --smp 1 --time', 1], ['--icount --smp 2 --time', 1],
		   ['--smp 2 --time', 0]);
	push @how, ['--icount --smp 4 --time', 1] if $mode eq 'kill';
	for my $how (@how) {
		my ($opts, $timed) = @$how;
		$out = `tools/weft-run $opts --timeout 300 build/user/t_write_intr $mode 2>$tmp/err`;
		$st = $? >> 8;
		my $err = do { local (@ARGV, $/) = "$tmp/err"; <> } // '';
		my ($ran) = $err =~ /ran ([\d.]+) s/;
		ok($st == $want, "t_write_intr $mode ($opts): $what ends the writer's process: $want (got $st)");
		ok(length($out) < $W && $out !~ /write returned/,
		   "... in the middle of its write: " . length($out) . " of $W bytes out");
		ok(!$timed || (defined $ran && $ran < 0.15),
		   $timed ? "... within 0.15 s of weft's clock from exec, the kill at ~0.02 s (ran "
			    . ($ran // '?') . " s)" : "... (no clock bound without -icount)");
	}
}
