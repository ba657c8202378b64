using System;
using System.IO;

namespace TransferTools.Engine.Tests
{
    /// <summary>A throw-away TransferTools home folder.</summary>
    public sealed class TestHome : IDisposable
    {
        public TestHome()
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "tt-test-" + Guid.NewGuid().ToString("n"));
            Directory.CreateDirectory(Path);
        }

        public string Path { get; }

        public TransferSession NewSession() => new TransferSession(Path);

        public void Dispose()
        {
            try
            {
                Directory.Delete(Path, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
