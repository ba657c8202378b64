using System;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Tests.Transfers
{
    /// <summary>A session in a home of its own, with a work folder for the files the tests send.</summary>
    public abstract class LocalTransferTestBase : IDisposable
    {
        protected LocalTransferTestBase()
        {
            Session = Home.NewSession();
            Work = Directory.CreateDirectory(Path.Combine(Home.Path, "work")).FullName;
        }

        protected TestHome Home { get; } = new TestHome();

        protected TransferSession Session { get; }

        protected string Work { get; }

        protected OperationContext Context => Session.CreateContext(CancellationToken.None);

        public void Dispose()
        {
            Session.Dispose();
            Home.Dispose();
        }

        /// <summary>A file of <paramref name="size"/> random bytes in the work folder (seeded by the size unless told).</summary>
        protected string NewFile(string name, int size, int? seed = null)
        {
            var bytes = new byte[size];
            new Random(seed ?? size).NextBytes(bytes);
            var path = Path.Combine(Work, name);
            File.WriteAllBytes(path, bytes);
            return path;
        }

        protected string NewFolder(string name) => Directory.CreateDirectory(Path.Combine(Work, name)).FullName;

        protected static string Sha(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))).ToLowerInvariant();
    }
}
