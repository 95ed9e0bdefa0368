#!/usr/bin/perl
# harness.t - self-test of tools/weft-test's KTAP parsing, without QEMU.
#
# Writes sample serial logs to a private temporary directory, runs
# `weft-test --parse-only LOG` on each and checks its TAP and exit code.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use TAP::Parser;
use Test::More;

my $root = abs_path(dirname(abs_path($0)) . '/..');
my $wt = "$root/tools/weft-test";
make_path("$root/build/tmp");
my $tmp = tempdir('harness-XXXXXX', DIR => "$root/build/tmp", CLEANUP => 1);

# run(@args) -> { out, err, rc, tap => { failed, skipped, tests, planned } }
sub run {
	my @args = @_;
	my ($out, $err) = ("$tmp/stdout", "$tmp/stderr");
	my $pid = fork() // die "fork: $!";
	if (!$pid) {
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', $out) or die;
		open(STDERR, '>', $err) or die;
		exec($^X, $wt, @args) or die "exec: $!";
	}
	waitpid($pid, 0);
	my %r = (rc => $? >> 8, out => slurp($out), err => slurp($err));
	my $p = TAP::Parser->new({ tap => $r{out} });
	1 while $p->next;
	$r{tap} = {
		good_plan => $p->is_good_plan,
		errors => [$p->parse_errors],
		failed => [$p->failed],
		skipped => [$p->skipped],
		tests => $p->tests_run,
	};
	return \%r;
}

sub slurp {
	open(my $fh, '<', $_[0]) or return '';
	local $/;
	return scalar <$fh>;
}

sub sample {
	my ($name, $text, %opt) = @_;
	$text =~ s/\n/\r\n/g if $opt{crlf};
	my $path = "$tmp/$name.log";
	open(my $fh, '>', $path) or die "$path: $!";
	print $fh $text;
	close $fh;
	return $path;
}

# Common checks: valid TAP with a plan, and the exit code matches.
sub check_tap {
	my ($r, $rc, $what) = @_;
	ok($r->{tap}{good_plan}, "$what: plan matches the test points");
	is_deeply($r->{tap}{errors}, [], "$what: TAP parses cleanly");
	is($r->{rc}, $rc, "$what: exit code $rc") or diag($r->{out}, $r->{err});
}

# --- 1. everything passes (CRLF line ends, as the kernel's console sends)
{
	my $log = sample('allpass', <<'EOF', crlf => 1);
[    0.000000] weft booting
KTAP version 1
1..2
    KTAP version 1
    # Subtest: pmm
    1..2
    ok 1 alloc_all
    ok 2 free_all
ok 1 pmm
    KTAP version 1
    # Subtest: traps
    1..1
    ok 1 divide_error
ok 2 traps
# weft-test: done passed=3 failed=0 skipped=0
EOF
	my $r = run('--parse-only', $log, '--name', 'A');
	check_tap($r, 0, 'all pass');
	is($r->{tap}{tests}, 3, 'all pass: one point per kernel test');
	like($r->{out}, qr/^ok 1 - A pmm\.alloc_all$/m, 'all pass: suite.test names');
	like($r->{out}, qr/^ok 3 - A traps\.divide_error$/m, 'all pass: second suite');
	unlike($r->{out}, qr/^not ok/m, 'all pass: no failures');
	unlike($r->{out}, qr/\r/, 'all pass: no carriage returns in TAP');
}

# --- 2. one failing test, its diagnostics, a skip
{
	my $log = sample('onefail', <<'EOF');
KTAP version 1
1..2
    KTAP version 1
    # Subtest: pmm
    1..2
    # free pages 1234 before
    ok 1 alloc_all
    not ok 2 double_free
    # expected 5, got 6
not ok 1 pmm
    KTAP version 1
    # Subtest: traps
    1..1
    ok 1 divide_error # SKIP no reason
ok 2 traps
# weft-test: done passed=2 failed=1 skipped=1
EOF
	my $r = run('--parse-only', $log, '--name', 'F');
	check_tap($r, 1, 'one failure');
	is_deeply($r->{tap}{failed}, [2], 'one failure: only test 2 fails');
	is_deeply($r->{tap}{skipped}, [3], 'one failure: test 3 skipped');
	like($r->{out}, qr/^not ok 2 - F pmm\.double_free\n# expected 5, got 6$/m,
		'one failure: diagnostics follow the failing test');
	like($r->{out}, qr/^ok 3 - F traps\.divide_error # SKIP no reason$/m, 'one failure: SKIP kept');
	unlike($r->{out}, qr/free pages 1234/, 'one failure: passing tests\' diagnostics dropped');
	like($r->{err}, qr/1 of 3 test points failed/, 'one failure: summary on stderr');
}

# --- 3. a crash: plan 1..3 but only two results, then a panic
{
	my $log = sample('crash', <<'EOF');
KTAP version 1
1..1
    KTAP version 1
    # Subtest: vmm
    1..3
    ok 1 map
    ok 2 unmap
[    1.000000] KERNEL PANIC: page fault at 0xdead in vmm_test_protect
[    1.000001] backtrace: ...
EOF
	my $r = run('--parse-only', $log, '--name', 'C');
	check_tap($r, 1, 'crash');
	like($r->{out}, qr/^ok 1 - C vmm\.map$/m, 'crash: results before the crash kept');
	like($r->{out}, qr/^not ok \d+ - C vmm: 3 tests planned, 2 reported; suite did not finish$/m,
		'crash: missing test reported');
	like($r->{out}, qr/^#\s+\[    1\.000000\] KERNEL PANIC: page fault/m, 'crash: log tail printed');

	# The same without nesting.
	my $flat = sample('crash-flat', "KTAP version 1\n1..3\nok 1 a\nok 2 b\n");
	$r = run('--parse-only', $flat, '--name', 'C2');
	check_tap($r, 1, 'flat crash');
	like($r->{out}, qr/^not ok 3 - C2 KTAP: 3 top-level tests planned, 2 reported$/m,
		'flat crash: missing test reported');
}

# --- 4. printk lines interleaved (also ones that look like results)
{
	my $log = sample('printk', <<'EOF', crlf => 1);
[    0.000000] weft booting
[    0.001000] ok 5 this is not a test
KTAP version 1
1..1
[    0.002000] pmm: 65000 free pages
    KTAP version 1
    # Subtest: sched
[    0.003000] not ok 9 still not a test
    1..2
    ok 1 yield
[    0.004000] cpu1: online
    ok 2 sleep
ok 1 sched
[    0.005000] halting
EOF
	my $r = run('--parse-only', $log, '--name', 'P');
	check_tap($r, 0, 'printk');
	is($r->{tap}{tests}, 2, 'printk: only the two KTAP results count');
	like($r->{out}, qr/^ok 2 - P sched\.sleep$/m, 'printk: result after a printk line');
}

# --- 5. deeper nesting, indented and flush-left
{
	my $text = <<'EOF';
KTAP version 1
1..2
    KTAP version 1
    # Subtest: mm
    1..2
        KTAP version 1
        # Subtest: slab
        1..2
        ok 1 small
        ok 2 large
    ok 1 slab
    ok 2 buddy_split
ok 1 mm
ok 2 toplevel_test
EOF
	my $want = qr/\Aok 1 - N mm\.slab\.small\nok 2 - N mm\.slab\.large\nok 3 - N mm\.buddy_split\nok 4 - N toplevel_test\n/m;
	for my $variant ('indented', 'flush-left') {
		my $t = $text;
		$t =~ s/^\s+//mg if $variant eq q(flush-left);
		my $r = run('--parse-only', sample("nested-$variant", $t), '--name', 'N');
		check_tap($r, 0, "nested $variant");
		like($r->{out}, $want, "nested $variant: names follow the nesting");
	}
}

# --- 6. KUnit style: "- " separators, diagnostics before the failure,
#        an empty suite skipped as a whole, KTAP through printk
{
	my $log = sample('kunit', <<'EOF');
[    0.100000] KTAP version 1
[    0.100001] 1..2
[    0.100002]     KTAP version 1
[    0.100003]     # Subtest: string
[    0.100004]     1..2
[    0.100005]     ok 1 - strlen
[    0.100006]     # strcmp: EXPECTATION FAILED at lib/string_test.c:42
[    0.100007]     not ok 2 - strcmp
[    0.100008] not ok 1 - string
[    0.100009] ok 2 - iommu # SKIP no IOMMU
EOF
	my $r = run('--parse-only', $log, '--name', 'K');
	check_tap($r, 1, 'kunit');
	like($r->{out}, qr/^not ok 2 - K string\.strcmp\n# strcmp: EXPECTATION FAILED/m,
		'kunit: diagnostics before a failure forwarded');
	like($r->{out}, qr/^ok 3 - K iommu # SKIP no IOMMU$/m, 'kunit: skipped suite is one point');
}

# --- 7. --expect / --reject, and no KTAP at all
{
	my $log = sample('plain', "[    0.0] hello\nweft> \nall good\n");
	my $r = run('--parse-only', $log, '--name', 'E', '--no-ktap',
		'--expect', '^all good$', '--expect', 'missing', '--reject', 'PANIC', '--reject', 'hel+o');
	check_tap($r, 1, 'expect/reject');
	like($r->{out}, qr{^ok 1 - E serial log matches /\^all good\$/$}m, 'expect: match');
	like($r->{out}, qr{^not ok 2 - E serial log matches /missing/$}m, 'expect: no match');
	like($r->{out}, qr{^ok 3 - E serial log does not match /PANIC/$}m, 'reject: no match');
	like($r->{out}, qr{^not ok 4 - E serial log does not match /hel\+o/\n# matched: \[    0\.0\] hello$}m,
		'reject: match shown');

	$r = run('--parse-only', $log, '--name', 'E');
	check_tap($r, 1, 'no KTAP');
	like($r->{out}, qr/^not ok 1 - E KTAP output found$/m, 'no KTAP: reported');
}

# --- 8. bad invocations fail cleanly, without QEMU
{
	my $r = run('--kernel', "$tmp/no-such-kernel.elf", '--name', 'M');
	check_tap($r, 1, 'missing kernel');
	like($r->{out}, qr/^not ok 1 - M kernel image \S+ exists$/m, 'missing kernel: reported');
	like($r->{err}, qr/not found/, 'missing kernel: message');

	$r = run('--expect-exit', 'sometimes');
	is($r->{rc}, 2, 'bad option: exit code 2');
	like($r->{out}, qr/^Bail out!/m, 'bad option: bails out');

	$r = run('--dry-run', '--kernel', 'k.elf', '--smp', '4', '--accel', 'tcg', '--append', 'test=all x=1');
	like($r->{out}, qr/^\S*qemu-system-x86_64 .*-accel tcg,thread=multi -cpu max .*-smp 4 .*-device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel k\.elf -append 'test=all x=1'$/m,
		'dry run: QEMU command line');
}

done_testing();
