package inmem_test

import (
	"testing"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/brokertest"
	"github.com/herald-chat/herald/inmem"
)

func TestBroker(t *testing.T) {
	brokertest.Run(t, func(t *testing.T) (herald.Broker, herald.Broker) {
		b := inmem.New()
		t.Cleanup(func() { b.Close() })
		return b, b
	})
}
