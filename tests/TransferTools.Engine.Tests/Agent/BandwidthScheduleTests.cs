using System;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Agent;
using TransferTools.Engine.Transfers;
using Xunit;

namespace TransferTools.Engine.Tests.Agent
{
    /// <summary>The bandwidth timetable (<see cref="BandwidthSchedule"/>) and how the agent switches its limit at a boundary.</summary>
    public sealed class BandwidthScheduleTests
    {
        // 2026-12-07 is a Monday.
        private static DateTime At(int day, int hour, int minute, int second = 0) => new DateTime(2026, 12, 7 + day, hour, minute, second, DateTimeKind.Local);

        [Fact]
        public void A_day_and_night_schedule_gives_the_rate_of_the_span_and_wraps_midnight()
        {
            var schedule = BandwidthSchedule.Parse("08:00-18:00=10MB; 18:00-08:00=0");
            Assert.Equal(10L * 1024 * 1024, schedule.RateAt(At(0, 8, 0)));
            Assert.Equal(10L * 1024 * 1024, schedule.RateAt(At(0, 17, 59, 59)));
            Assert.Equal(0, schedule.RateAt(At(0, 18, 0)));
            Assert.Equal(0, schedule.RateAt(At(1, 2, 0)));
        }

        [Fact]
        public void Weekday_prefixes_ranges_and_lists_select_days_and_a_night_span_belongs_to_the_day_it_starts()
        {
            var schedule = BandwidthSchedule.Parse("Mon-Fri 08:00-18:00=1MB; Fri 22:00-06:00=512KB; Sat,Sun 00:00-24:00=2M");
            Assert.Equal(1L << 20, schedule.RateAt(At(0, 9, 0)));      // Monday
            Assert.Equal(1L << 20, schedule.RateAt(At(4, 9, 0)));      // Friday
            Assert.Equal(0, schedule.RateAt(At(0, 20, 0)));            // Monday evening: no entry, unlimited
            Assert.Equal(512L * 1024, schedule.RateAt(At(4, 23, 0)));  // Friday night
            Assert.Equal(512L * 1024, schedule.RateAt(At(5, 5, 0)));   // Saturday early: Friday's span (first match)
            Assert.Equal(2L << 20, schedule.RateAt(At(5, 12, 0)));     // Saturday
            Assert.Equal(2L << 20, schedule.RateAt(At(6, 23, 59)));    // Sunday
        }

        [Theory]
        [InlineData("00:00-24:00=123", 123)]
        [InlineData("00:00-24:00=10k", 10 * 1024)]
        [InlineData("00:00-24:00=1.5MiB", 3 * 512 * 1024)]
        [InlineData("00:00-24:00=1GB", 1L << 30)]
        [InlineData("00:00-24:00=off", 0)]
        [InlineData("  00:00:00 - 23:59:59 = 7B ;", 7)]
        public void Rates_take_units_in_powers_of_1024_and_off(string text, long expected)
        {
            Assert.Equal(expected, BandwidthSchedule.Parse(text).RateAt(At(0, 12, 0)));
        }

        [Theory]
        [InlineData("")]
        [InlineData("08:00=10MB")]
        [InlineData("08:00-18:00")]
        [InlineData("25:00-18:00=1MB")]
        [InlineData("08:60-18:00=1MB")]
        [InlineData("Xyz 08:00-18:00=1MB")]
        [InlineData("08:00-18:00=10XB")]
        [InlineData("08:00-18:00=fast")]
        public void Invalid_entries_are_refused_naming_the_entry(string text)
        {
            var e = Assert.Throws<PluginException>(() => BandwidthSchedule.Parse(text));
            Assert.Equal("BandwidthScheduleInvalid", e.ErrorId);
            Assert.Equal(ErrorCode.InvalidArgument, e.Code);
        }

        [Fact]
        public void The_agent_switches_its_limit_at_a_boundary_of_an_injected_clock()
        {
            using var home = new TestHome();
            using var session = home.NewSession();
            var now = At(0, 7, 59, 58);
            using var agent = TransferAgent.Start(session, new TransferAgentOptions
            {
                Schedule = BandwidthSchedule.Parse("08:00-18:00=10MB; 18:00-08:00=0"),
                Clock = () => now,
            });
            agent.ApplySchedules();
            Assert.Equal(0, agent.Limiter.Rate);
            now = At(0, 8, 0, 0);
            agent.ApplySchedules();
            Assert.Equal(10L << 20, agent.Limiter.Rate);
            now = At(0, 18, 0, 1);
            agent.ApplySchedules();
            Assert.Equal(0, agent.Limiter.Rate);
        }

        [Fact]
        public async Task A_writer_waiting_on_a_low_rate_goes_on_when_the_rate_is_lifted()
        {
            var limiter = new BandwidthLimiter(1000);
            await limiter.TakeAsync(100_000, null, CancellationToken.None); // 100 s of debt at 1000 B/s
            var waiting = limiter.TakeAsync(1000, null, CancellationToken.None);
            Assert.False(waiting.IsCompleted);
            limiter.Rate = 0;
            // (A guard against a hang, not a timing assertion: the waiter looks at the rate every 200 ms.)
            Assert.Same(waiting, await Task.WhenAny(waiting, Task.Delay(TimeSpan.FromSeconds(30))));
        }

        [Fact]
        public void A_second_agent_for_the_same_home_is_refused_naming_the_first_ones_pid()
        {
            using var home = new TestHome();
            using var session = home.NewSession();
            using var first = TransferAgent.Start(session, new TransferAgentOptions());
            var e = Assert.Throws<PluginException>(() => TransferAgent.Start(session, new TransferAgentOptions()));
            Assert.Equal("AgentAlreadyRunning", e.ErrorId);
            Assert.Contains($"process {Environment.ProcessId}", e.Message);
        }
    }
}
