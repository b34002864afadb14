namespace Federation.Zone.Xds.Server;

/// <summary>Source-generated log messages of the ADS server.</summary>
internal static partial class AdsLog
{
    [LoggerMessage(EventId = 1, EventName = "XdsStreamOpened", Level = LogLevel.Debug, Message = "{Proxy} opened an xDS {Kind} stream")]
    public static partial void StreamOpened(ILogger logger, string proxy, string kind);

    [LoggerMessage(EventId = 2, EventName = "XdsStreamClosed", Level = LogLevel.Debug, Message = "{Proxy} closed its xDS {Kind} stream")]
    public static partial void StreamClosed(ILogger logger, string proxy, string kind);

    [LoggerMessage(EventId = 3, EventName = "XdsRefused", Level = LogLevel.Information, Message = "xDS {Kind} stream of node '{Node}' refused: {Status}: {Detail}")]
    public static partial void Refused(ILogger logger, string kind, string node, Grpc.Core.StatusCode status, string detail);

    [LoggerMessage(EventId = 4, EventName = "XdsProtocolViolation", Level = LogLevel.Warning, Message = "Ending the xDS {Kind} stream of {Proxy}: {Detail}")]
    public static partial void Violation(ILogger logger, string kind, string proxy, string detail);

    [LoggerMessage(EventId = 5, EventName = "XdsNacked", Level = LogLevel.Warning, Message = "{Proxy} rejected {Type} version {Version}: {Reason}")]
    public static partial void Nacked(ILogger logger, string proxy, string type, string version, string reason);

    [LoggerMessage(EventId = 6, EventName = "XdsStreamFailed", Level = LogLevel.Debug, Message = "The xDS {Kind} stream of {Proxy} ended: {Reason}")]
    public static partial void StreamFailed(ILogger logger, string kind, string proxy, string reason);
}
