using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.RegularExpressions;
using TransferTools.Abstractions;
using TransferTools.Engine.Transfers;

namespace TransferTools.Engine.Agent
{
    /// <summary>
    /// A bandwidth timetable, in the spirit of rclone's <c>--bwlimit</c> timetable: entries separated by <c>;</c>, each
    /// <c>[DAYS ]HH:MM[:SS]-HH:MM[:SS]=RATE</c>, e.g. <c>'Mon-Fri 08:00-18:00=10MB; 18:00-08:00=0'</c>.
    /// </summary>
    /// <remarks>
    /// DAYS is <c>Mon</c>..<c>Sun</c>, a range (<c>Mon-Fri</c>) or a list (<c>Sat,Sun</c>); without it an entry holds every day.
    /// A span whose end is not after its start runs past midnight into the next day (and belongs to the day it starts
    /// on); <c>24:00</c> is the end of a day. RATE is bytes per second with an optional unit (<c>KB</c>, <c>MB</c>,
    /// <c>GB</c>, powers of 1024 as PowerShell's <c>10MB</c>; <c>K</c>, <c>M</c>, <c>G</c>, <c>KiB</c>... the same), or
    /// <c>0</c> / <c>off</c> for unlimited. Times are local. The first entry that covers a moment decides; a moment no
    /// entry covers is unlimited.
    /// </remarks>
    public sealed class BandwidthSchedule
    {
        private static readonly Regex EntryPattern = new Regex(
            @"^\s*(?:(?<days>[A-Za-z]{3}(?:\s*[-,]\s*[A-Za-z]{3})*)\s+)?(?<from>\d{1,2}:\d{2}(?::\d{2})?)\s*-\s*(?<to>\d{1,2}:\d{2}(?::\d{2})?)\s*=\s*(?<rate>[^;]+?)\s*$",
            RegexOptions.CultureInvariant);

        private static readonly Regex RatePattern = new Regex(@"^(?<n>\d+(?:\.\d+)?)\s*(?<unit>[A-Za-z]*)$", RegexOptions.CultureInvariant);

        private static readonly string[] DayNames = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

        private readonly List<Entry> _entries;

        private BandwidthSchedule(string text, List<Entry> entries)
        {
            Text = text;
            _entries = entries;
        }

        /// <summary>The schedule as given.</summary>
        public string Text { get; }

        /// <summary>Parses a timetable.</summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.InvalidArgument"/> (<c>BandwidthScheduleInvalid</c>), naming the entry.</exception>
        public static BandwidthSchedule Parse(string text)
        {
            if (string.IsNullOrWhiteSpace(text))
            {
                throw Invalid(text ?? "", "the schedule is empty");
            }

            var entries = new List<Entry>();
            foreach (var part in text.Split(';'))
            {
                if (part.Trim().Length == 0)
                {
                    continue;
                }

                var m = EntryPattern.Match(part);
                if (!m.Success)
                {
                    throw Invalid(part.Trim(), "an entry is [DAYS ]HH:MM-HH:MM=RATE, e.g. 'Mon-Fri 08:00-18:00=10MB'");
                }

                var from = ParseTime(m.Groups["from"].Value, part);
                var to = ParseTime(m.Groups["to"].Value, part);
                if (from >= TimeSpan.FromDays(1))
                {
                    throw Invalid(part.Trim(), "a span starts before 24:00");
                }

                var days = m.Groups["days"].Success ? ParseDays(m.Groups["days"].Value, part) : AllDays;
                entries.Add(new Entry(days, from, to <= from ? to + TimeSpan.FromDays(1) : to, ParseRate(m.Groups["rate"].Value, part)));
            }

            if (entries.Count == 0)
            {
                throw Invalid(text, "the schedule has no entry");
            }

            return new BandwidthSchedule(text, entries);
        }

        /// <summary>The rate in bytes per second at local time <paramref name="now"/> (0: unlimited).</summary>
        public long RateAt(DateTime now)
        {
            var timeOfDay = now.TimeOfDay;
            var today = (int)now.DayOfWeek;
            var yesterday = (today + 6) % 7;
            foreach (var entry in _entries)
            {
                // Today's span, or yesterday's running past midnight.
                if ((entry.Days & (1 << today)) != 0 && timeOfDay >= entry.From && timeOfDay < entry.To)
                {
                    return entry.Rate;
                }

                if ((entry.Days & (1 << yesterday)) != 0 && timeOfDay + TimeSpan.FromDays(1) >= entry.From && timeOfDay + TimeSpan.FromDays(1) < entry.To)
                {
                    return entry.Rate;
                }
            }

            return 0;
        }

        /// <summary>Sets <paramref name="limiter"/>'s rate to the schedule's at <paramref name="now"/>; true when it changed.</summary>
        public bool Apply(BandwidthLimiter limiter, DateTime now)
        {
            var rate = RateAt(now);
            if (limiter.Rate == rate)
            {
                return false;
            }

            limiter.Rate = rate;
            return true;
        }

        /// <inheritdoc/>
        public override string ToString() => Text;

        private const int AllDays = 0x7f;

        private static TimeSpan ParseTime(string text, string entry)
        {
            var parts = text.Split(':');
            var h = int.Parse(parts[0], CultureInfo.InvariantCulture);
            var m = int.Parse(parts[1], CultureInfo.InvariantCulture);
            var s = parts.Length > 2 ? int.Parse(parts[2], CultureInfo.InvariantCulture) : 0;
            if (m > 59 || s > 59 || h > 24 || (h == 24 && (m > 0 || s > 0)))
            {
                throw Invalid(entry.Trim(), $"'{text}' is not a time of day (00:00 to 24:00)");
            }

            return new TimeSpan(h, m, s);
        }

        private static int ParseDays(string text, string entry)
        {
            var days = 0;
            foreach (var item in text.Split(','))
            {
                var range = item.Split('-');
                var first = Day(range[0], entry);
                var last = range.Length > 1 ? Day(range[1], entry) : first;
                if (range.Length > 2)
                {
                    throw Invalid(entry.Trim(), $"'{item.Trim()}' is not a day or a range of days");
                }

                // A range may wrap the week (Fri-Mon).
                for (var d = first; ; d = (d + 1) % 7)
                {
                    days |= 1 << d;
                    if (d == last)
                    {
                        break;
                    }
                }
            }

            return days;
        }

        private static int Day(string name, string entry)
        {
            var index = Array.IndexOf(DayNames, name.Trim().ToLowerInvariant());
            return index >= 0 ? index : throw Invalid(entry.Trim(), $"'{name.Trim()}' is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)");
        }

        /// <summary>A rate: bytes per second with an optional unit; 0 or <c>off</c> is unlimited.</summary>
        internal static long ParseRate(string text, string entry)
        {
            var trimmed = text.Trim();
            if (string.Equals(trimmed, "off", StringComparison.OrdinalIgnoreCase) || string.Equals(trimmed, "unlimited", StringComparison.OrdinalIgnoreCase))
            {
                return 0;
            }

            var m = RatePattern.Match(trimmed);
            if (!m.Success)
            {
                throw Invalid(entry.Trim(), $"'{trimmed}' is not a rate (bytes per second, e.g. 512KB, 10MB; 0 or off for unlimited)");
            }

            long factor;
            switch (m.Groups["unit"].Value.ToLowerInvariant())
            {
                case "":
                case "b":
                    factor = 1;
                    break;
                case "k":
                case "kb":
                case "kib":
                    factor = 1L << 10;
                    break;
                case "m":
                case "mb":
                case "mib":
                    factor = 1L << 20;
                    break;
                case "g":
                case "gb":
                case "gib":
                    factor = 1L << 30;
                    break;
                default:
                    throw Invalid(entry.Trim(), $"'{m.Groups["unit"].Value}' is not a unit (B, KB, MB, GB)");
            }

            return (long)Math.Round(double.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture) * factor);
        }

        private static PluginException Invalid(string entry, string why) =>
            new PluginException(ErrorCode.InvalidArgument, $"The bandwidth schedule entry '{entry}' is not valid: {why}.",
                errorId: "BandwidthScheduleInvalid", target: entry);

        private sealed class Entry
        {
            public Entry(int days, TimeSpan from, TimeSpan to, long rate)
            {
                Days = days;
                From = from;
                To = to;
                Rate = rate;
            }

            public int Days { get; }
            public TimeSpan From { get; }
            public TimeSpan To { get; }
            public long Rate { get; }
        }
    }
}
