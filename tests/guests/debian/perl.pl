# perl: fork/wait, pipe opens, backticks, system, signals, pipe().
use strict; use warnings;
$| = 1;
my @kids;
for my $i (1 .. 4) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) { exit $i * 10 }
    push @kids, $pid;
}
my @st;
for my $k (@kids) { waitpid($k, 0) == $k or die; push @st, $? >> 8 }
print "fork/wait: @st\n";
open my $fh, '-|', 'echo hi' or die; my $l = <$fh>; close $fh; print "pipe open: $l";
open $fh, '-|', 'seq', '1', '5' or die; my @n = <$fh>; close $fh; chomp @n; print "list form: @n status $?\n";
open my $out, '|-', 'tr a-z A-Z' or die; print $out "to a pipe\n"; close $out;
my $bt = `echo back; echo ticks`; print "backticks: ", join('|', split /\n/, $bt), " status $?\n";
my @lines = `printf 'c\\nb\\na\\n' | sort`; chomp @lines; print "sorted: @lines\n";
`sh -c 'exit 3'`; print "backtick status: ", $? >> 8, "\n";
print "system: ", system('sh', '-c', 'exit 5') >> 8, " ", system('true'), "\n";
system('kill -TERM $$'); print "system signal: ", $? & 127, "\n";
pipe(my $r, my $w) or die;
my $pid = fork // die;
if ($pid == 0) { close $r; print $w "child $_\n" for 1 .. 3; close $w; exit 0 }
close $w; my @got = <$r>; close $r; waitpid($pid, 0); print "pipe(): ", scalar(@got), " lines, last $got[-1]";
my $usr1 = 0; local $SIG{USR1} = sub { $usr1++ };
kill 'USR1', $$; kill 'USR1', $$;
$pid = fork // die;
if ($pid == 0) { kill 'USR1', getppid(); exit 0 }
waitpid($pid, 0); print "signals: $usr1\n";
$pid = fork // die;
if ($pid == 0) { sleep 10; exit 0 }
kill 'KILL', $pid; waitpid($pid, 0); print "killed: ", $? & 127, "\n";
print "wait none: ", wait(), "\n";
my $s = join ',', map { sprintf "%.3f", sqrt($_) } 1 .. 5; print "math: $s\n";
my %h; $h{$_ % 7} += $_ for 1 .. 1000; print "hash: ", join(' ', map { "$_=$h{$_}" } sort keys %h), "\n";
exit 2;
