#!/usr/bin/perl
# weft-run.t - the user's one-command path: tools/weft-run boots weft with a
# static program from the host, streams its output, and exits with its
# status (or 128 + the signal that killed it).
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);

my $root = abs_path(dirname(abs_path($0)) . '/..');
chdir $root or die;
my $run = "tools/weft-run --timeout 120";
print "1..6\n";
my $n = 0;
sub ok { my ($c, $d) = @_; $n++; print(($c ? '' : 'not '), "ok $n - $d\n"); }

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
my $dyn = '/tmp/weft-run-dyn.' . $$;
system("echo 'int main(void){return 0;}' | gcc -x c - -o $dyn") == 0 or die "gcc failed";
$out = `$run $dyn 2>&1`;
$st = $? >> 8;
unlink $dyn;
ok($st == 2 && $out =~ /dynamically linked/, "a dynamic program is refused with a clear message");
