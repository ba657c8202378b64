namespace TransferTools.Internal
{
    /// <summary>Where each cmdlet's help is online (<c>Get-Help -Online</c>): its page under docs/ in the repository.</summary>
    public static class HelpLinks
    {
        /// <summary>The folder of the help pages; a cmdlet's page is <c>Verb-Noun.md</c> in it.</summary>
        public const string Root = "https://github.com/transfertools/TransferTools/blob/main/docs/";
    }
}
