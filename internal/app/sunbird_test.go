package app

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/testkit"
)

// roster serve --sunbird-api mounts the Sunbird-compatible API under
// Sunbird's service paths; without it those paths are not Roster's.
func TestSunbirdAPISwitch(t *testing.T) {
	for _, on := range []bool{false, true} {
		a, err := Open(context.Background(), Config{DataDir: t.TempDir(), DatabaseURL: storetest.URL(t, "sqlite"),
			LogOutput: &testkit.LockedBuffer{}, SunbirdAPI: on})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- a.ServeListener(ctx, ln) }()
		base := "http://" + ln.Addr().String()
		waitFor(t, "/readyz 200", func() bool {
			res, err := http.Get(base + "/readyz")
			if err != nil {
				return false
			}
			res.Body.Close()
			return res.StatusCode == http.StatusOK
		})
		res, err := http.Get(base + "/v1/user/read/someone")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var env struct{ ID, ResponseCode string }
		isEnvelope := json.Unmarshal(body, &env) == nil && env.ResponseCode == "UNAUTHORIZED" && env.ID == "api.user.read.someone"
		if isEnvelope != on || on && res.StatusCode != http.StatusUnauthorized {
			t.Errorf("sunbird-api %v: %d %s", on, res.StatusCode, body)
		}
		cancel()
		<-served
		a.Close()
	}
}
