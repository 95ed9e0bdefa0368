#!/usr/bin/perl
# fuzz-table.t - every system call kernel/syscall.c implements has an entry
# in the fuzzer's table (user/fuzz/fuzz_calls.c), so a new call is fuzzed
# from the day it is added. No QEMU: the two source tables are compared.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);

my $root = abs_path(dirname(abs_path($0)) . '/..');
sub slurp { my ($f) = @_; open(my $fh, '<', "$root/$f") or die "$f: $!"; local $/; return <$fh>; }

my %kernel = map { $_ => 1 } (slurp('kernel/syscall.c') =~ /\bE\(SYS_(\w+),/g);
my %fuzz = map { $_ => 1 } (slurp('user/fuzz/fuzz_calls.c') =~ /\{\s*"\w+",\s*SYS_(\w+),/g);
my @missing = sort grep { !$fuzz{$_} } keys %kernel;
my @extra = sort grep { !$kernel{$_} } keys %fuzz;
print "1..2\n";
print((%kernel > 20 ? '' : 'not '), "ok 1 - kernel/syscall.c's table parsed (" . scalar(keys %kernel) . " calls)\n");
print((@missing ? 'not ' : ''), "ok 2 - the fuzzer's table covers every one",
      (@missing ? " (missing: @missing)" : ''), "\n");
print "# the fuzzer also issues calls weft lacks: @extra\n" if @extra;
