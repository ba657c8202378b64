namespace TransferTools.Engine.Transfers
{
    /// <summary>How transfer ids are shown.</summary>
    public static class TransferIds
    {
        /// <summary>The short form shown in messages (the first 8 characters), which the cmdlets also accept.</summary>
        public static string Short(string id) => id.Length > 8 ? id.Substring(0, 8) : id;
    }
}
