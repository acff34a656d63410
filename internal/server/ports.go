package server

// FreePorts sets every listen address to a free loopback port, for tests
// and benchmarks that run many Signets on one machine. The dev agent's
// endpoints, when configured, move too; its Arc endpoint is left off.
func (c *Config) FreePorts() {
	const any = "127.0.0.1:0"
	c.STSAddr, c.ARMAddr, c.MIRPAddr = any, any, any
	c.VaultAddr, c.BlobAddr, c.OpsAddr = any, any, any
	if c.DevAgent != nil {
		c.DevAgent.IMDSAddr, c.DevAgent.AppServiceAddr, c.DevAgent.ArcAddr = any, any, ""
	}
}
