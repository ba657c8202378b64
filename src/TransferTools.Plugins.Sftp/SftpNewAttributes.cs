using System;
using System.Collections.Generic;
using System.Linq.Expressions;
using System.Reflection;
using Renci.SshNet.Sftp;

namespace TransferTools.Plugins.Sftp
{
    /// <summary>
    /// An <see cref="SftpFileAttributes"/> that carries only a modification time and permission bits to a setstat, made
    /// without asking the server for the file's attributes first. SSH.NET sends in a setstat only the fields that differ
    /// from the ones the object was made with, and has no public constructor: its internal one is bound once by
    /// reflection; where it is missing (another SSH.NET), <see cref="Create"/> answers null and the caller stats first, as
    /// before.
    /// </summary>
    internal static class SftpNewAttributes
    {
        private static readonly Lazy<Func<SftpFileAttributes>?> Factory = new Lazy<Func<SftpFileAttributes>?>(TryBind);

        /// <summary>Attributes that set <paramref name="lastModified"/> (with the access time now, as SFTP v3 sets both
        /// together) and <paramref name="octalMode"/> (three octal digits as SSH.NET takes them, e.g. 644), and nothing
        /// else; null when this SSH.NET cannot make them, or for a mode of 000 (which the change tracking would not send).</summary>
        public static SftpFileAttributes? Create(DateTimeOffset? lastModified, short? octalMode)
        {
            if (!(Factory.Value is { } create) || octalMode == 0)
            {
                return null;
            }

            var attributes = create();
            if (lastModified is DateTimeOffset time)
            {
                attributes.LastAccessTimeUtc = DateTime.UtcNow;
                attributes.LastWriteTimeUtc = time.UtcDateTime;
            }

            if (octalMode is short mode)
            {
                attributes.SetPermissions(mode);
            }

            return attributes;
        }

        private static Func<SftpFileAttributes>? TryBind()
        {
            try
            {
                const BindingFlags Any = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
                var ctor = typeof(SftpFileAttributes).GetConstructor(Any, null,
                    new[] { typeof(DateTime), typeof(DateTime), typeof(long), typeof(int), typeof(int), typeof(uint), typeof(Dictionary<string, string>) }, null);
                if (ctor is null)
                {
                    return null;
                }

                // Made with zero times, size, owner and mode: what is set afterwards differs and is sent, the rest is not.
                var epoch = Expression.Constant(default(DateTime));
                return Expression.Lambda<Func<SftpFileAttributes>>(Expression.New(ctor, epoch, epoch, Expression.Constant(0L), Expression.Constant(0),
                    Expression.Constant(0), Expression.Constant(0u), Expression.Constant(null, typeof(Dictionary<string, string>)))).Compile();
            }
            catch (Exception)
            {
                return null;
            }
        }
    }
}
