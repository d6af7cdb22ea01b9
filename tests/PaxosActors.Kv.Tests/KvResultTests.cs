namespace PaxosActors.Kv.Tests;

public sealed class KvResultTests
{
    [Fact]
    public void A_null_array_means_absent_not_an_empty_value()
    {
        byte[]? none = null;

        Assert.False(KvResult.Found(none).Existed);
        Assert.Null(KvResult.Found(none).Value);
        Assert.False(KvResult.Failed(none).Existed);
        Assert.Null(KvResult.Failed(none).Value);
    }

    [Fact]
    public void An_empty_value_is_present()
    {
        var found = KvResult.Found(Array.Empty<byte>());

        Assert.True(found.Existed);
        Assert.True(found.Value.HasValue);
    }

    [Fact]
    public void Results_compare_by_content()
    {
        Assert.Equal(KvResult.Found(new byte[] { 1, 2 }), KvResult.Found(new byte[] { 1, 2 }));
        Assert.NotEqual(KvResult.Found(new byte[] { 1, 2 }), KvResult.Found(new byte[] { 1, 3 }));
        Assert.NotEqual(KvResult.Ok(existed: true), KvResult.Ok(existed: false));
        Assert.NotEqual(KvResult.Failed(new byte[] { 1 }), KvResult.Found(new byte[] { 1 }));
        Assert.Equal("Failed(existed, 1 B)", KvResult.Failed(new byte[] { 1 }).ToString());
    }
}
