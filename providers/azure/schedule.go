package azure

import (
	"fmt"
	"time"
)

// Schedule is the timer trigger's NCRONTAB expression ("second minute
// hour day month day-of-week", in UTC) that fires every interval. Only
// intervals that divide an hour or a day, a whole day and a week have an
// exact expression; others are refused rather than rounded, so the
// monitor's window keeps its meaning. (The TimeSpan form of a schedule
// runs only on a Dedicated plan.)
func Schedule(interval time.Duration) (string, error) {
	switch {
	case interval < time.Minute || interval%time.Minute != 0:
		// fall through to the error
	case interval == 7*24*time.Hour:
		return "0 0 0 * * 0", nil
	case interval == 24*time.Hour:
		return "0 0 0 * * *", nil
	case interval < time.Hour && time.Hour%interval == 0:
		if interval == time.Minute {
			return "0 * * * * *", nil
		}
		return fmt.Sprintf("0 */%d * * * *", int(interval/time.Minute)), nil
	case interval%time.Hour == 0 && 24*time.Hour%interval == 0:
		if interval == time.Hour {
			return "0 0 * * * *", nil
		}
		return fmt.Sprintf("0 0 */%d * * *", int(interval/time.Hour)), nil
	}
	return "", fmt.Errorf("monitoring.interval %v has no exact timer schedule on Azure Functions: use minutes that divide an hour (1m … 30m), hours that divide a day (1h … 12h), 24h or 168h", interval)
}
