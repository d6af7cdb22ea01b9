using System.Globalization;
using System.Runtime.InteropServices;

namespace PaxosActors.Tools.Bench;

/// <summary>CPU time and peak memory of a process, from Linux's <c>/proc</c>; null where it cannot be read.</summary>
public static class ProcStats
{
    private static readonly long ClockTicksPerSecond = ReadClockTicks();

    /// <summary>User plus system CPU seconds the process has used so far (<c>/proc/PID/stat</c>).</summary>
    public static double? CpuSeconds(int pid)
    {
        try
        {
            return ParseStatCpuTicks(File.ReadAllText($"/proc/{pid}/stat")) / (double)ClockTicksPerSecond;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>The peak resident set size in MiB (<c>VmHWM</c> in <c>/proc/PID/status</c>).</summary>
    public static double? PeakRssMb(int pid)
    {
        try
        {
            return ParseStatusKb(File.ReadAllText($"/proc/{pid}/status"), "VmHWM") / 1024.0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>utime + stime (fields 14 and 15, in clock ticks) of a <c>/proc/PID/stat</c> line. The command
    /// name (field 2) is in parentheses and may hold spaces and parentheses, so fields are counted after the last ')'.</summary>
    public static long ParseStatCpuTicks(string stat)
    {
        int close = stat.LastIndexOf(')');
        if (close < 0) throw new FormatException("no ')' in /proc/PID/stat");
        var fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 13) throw new FormatException("too few fields in /proc/PID/stat");
        // fields[0] is field 3 (state), so field k is fields[k - 3].
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    /// <summary>The value in kB of a line like <c>VmHWM:    123456 kB</c> of <c>/proc/PID/status</c>.</summary>
    public static long ParseStatusKb(string status, string name)
    {
        foreach (var line in status.Split('\n'))
        {
            if (!line.StartsWith(name + ":", StringComparison.Ordinal)) continue;
            var parts = line[(name.Length + 1)..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length > 0) return long.Parse(parts[0], CultureInfo.InvariantCulture);
        }
        throw new FormatException($"no {name} in /proc/PID/status");
    }

    private static long ReadClockTicks()
    {
        try
        {
            long ticks = Sysconf(2); // _SC_CLK_TCK
            return ticks > 0 ? ticks : 100;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return 100;
        }
    }

    [DllImport("libc", EntryPoint = "sysconf")]
    private static extern long Sysconf(int name);
}
