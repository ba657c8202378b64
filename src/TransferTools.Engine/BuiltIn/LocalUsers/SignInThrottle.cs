using System;

namespace TransferTools.Engine.BuiltIn.LocalUsers
{
    /// <summary>
    /// How repeated failed sign-ins are slowed down: after <see cref="FreeAttempts"/> failures in a row a user is locked
    /// out for <see cref="BaseLockout"/>, doubling with every further failure up to <see cref="MaxLockout"/>. A success
    /// (or an admin's unlock) resets the count.
    /// </summary>
    public sealed class SignInThrottle
    {
        /// <summary>Failures allowed before the first lockout (default 5).</summary>
        public int FreeAttempts { get; set; } = 5;

        /// <summary>The first lockout (default 30 s).</summary>
        public TimeSpan BaseLockout { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>The longest lockout (default 15 min).</summary>
        public TimeSpan MaxLockout { get; set; } = TimeSpan.FromMinutes(15);

        /// <summary>Failures older than this are forgotten (default 24 h).</summary>
        public TimeSpan Forget { get; set; } = TimeSpan.FromHours(24);

        /// <summary>The lockout that follows failure number <paramref name="failures"/>, or null when none.</summary>
        public DateTimeOffset? LockoutAfter(int failures, DateTimeOffset now)
        {
            if (failures < FreeAttempts)
            {
                return null;
            }

            var exponent = Math.Min(failures - FreeAttempts, 30);
            var ticks = Math.Min((double)BaseLockout.Ticks * Math.Pow(2, exponent), MaxLockout.Ticks);
            return now + TimeSpan.FromTicks((long)ticks);
        }
    }
}
