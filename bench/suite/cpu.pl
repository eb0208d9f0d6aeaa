# The work of cpu.py in perl (see there). Argument: scale (default 1).
use strict; use warnings;
my $scale = @ARGV ? $ARGV[0] : 1.0;
my $n = int(200000 * $scale);
my ($x, $acc) = (12345, 0);
for my $i (0 .. $n * 5 - 1) {
    $x = ($x * 1103515245 + 12345) & 0x7fffffff;
    $acc = ($acc + ($x >> 7)) & 0xffffffff;
}
my %d;
for my $i (0 .. $n - 1) { my $k = "k" . (($i * 7919) % 50021); $d{$k} = ($d{$k} // 0) + $i; }
my $tot = 0;
for my $k (sort keys %d) { $tot = ($tot * 31 + $d{$k} + length($k)) % 4294967296; }
my @parts;
for my $i (0 .. $n - 1) { push @parts, sprintf("%d:%s;", $i, substr("abcdefghij", $i % 10, 1) x ($i % 7 + 1)); }
my $s = join("", @parts);
my $cnt = () = $s =~ /ccc/g; my $c2 = () = $s =~ /9:/g; $cnt += $c2;
my ($fs, $f) = (0, 0.5);
for my $i (0 .. $n - 1) { $f = $f * 1.000013 + 0.25 / ($i + 1); $fs += length(sprintf("%.6f %.3e", $f, $f * $i)); }
printf "perl %d %d %d %d %d %d %d %d %.9f\n", $n, $x, $acc, scalar(keys %d), $tot, length($s), $cnt, $fs, $f;
