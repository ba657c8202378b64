using System;
using System.Collections.Generic;
using System.IO;

namespace TransferTools.Engine.Storage
{
    /// <summary>A MIME type from a file name's extension, for items saved without an explicit one.</summary>
    public static class MimeTypes
    {
        private static readonly Dictionary<string, string> ByExtension = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            [".txt"] = "text/plain", [".log"] = "text/plain", [".md"] = "text/markdown", [".csv"] = "text/csv",
            [".tsv"] = "text/tab-separated-values", [".htm"] = "text/html", [".html"] = "text/html", [".css"] = "text/css",
            [".js"] = "text/javascript", [".json"] = "application/json", [".xml"] = "application/xml", [".yaml"] = "application/yaml",
            [".yml"] = "application/yaml", [".ps1"] = "text/plain", [".psm1"] = "text/plain", [".psd1"] = "text/plain",
            [".pdf"] = "application/pdf", [".zip"] = "application/zip", [".gz"] = "application/gzip", [".tgz"] = "application/gzip",
            [".tar"] = "application/x-tar", [".7z"] = "application/x-7z-compressed", [".bz2"] = "application/x-bzip2",
            [".xz"] = "application/x-xz", [".zst"] = "application/zstd", [".png"] = "image/png", [".jpg"] = "image/jpeg",
            [".jpeg"] = "image/jpeg", [".gif"] = "image/gif", [".svg"] = "image/svg+xml", [".webp"] = "image/webp",
            [".ico"] = "image/vnd.microsoft.icon", [".mp3"] = "audio/mpeg", [".wav"] = "audio/wav", [".mp4"] = "video/mp4",
            [".webm"] = "video/webm", [".doc"] = "application/msword",
            [".docx"] = "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            [".xlsx"] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            [".pptx"] = "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            [".iso"] = "application/x-iso9660-image", [".bin"] = "application/octet-stream",
        };

        /// <summary>The MIME type for <paramref name="fileName"/>, or <c>application/octet-stream</c>.</summary>
        public static string FromFileName(string? fileName)
        {
            var ext = Path.GetExtension(fileName ?? "");
            return !string.IsNullOrEmpty(ext) && ByExtension.TryGetValue(ext, out var type) ? type : "application/octet-stream";
        }
    }
}
