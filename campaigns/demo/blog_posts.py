"""Blog posts of the demo merchant (written for this project), used by repurposing."""

POSTS: dict[str, str] = {
    "layering-for-cold-trails.md": """---
title: "Layering for cold trails: a three-layer system that actually works"
url: https://juniperfinch.example/blog/layering-for-cold-trails
tags: [hiking, winter, gear]
date: 2026-10-02
---

# Layering for cold trails

Most hikers who feel cold on a winter trail are not wearing too little. They are wearing the wrong layers in the wrong order.

## The base layer moves sweat

A base layer sits against your skin and moves moisture away. Merino wool keeps about 80 percent of its warmth when damp, which is why we recommend it for multi-day trips. Synthetic fabrics dry faster and cost less.

## The mid layer traps heat

Fleece or a light synthetic puffy traps warm air. Choose a mid layer you can vent with a zip, because overheating on a climb is how base layers get soaked.

## The shell blocks wind and rain

A shell is only as good as its breathability. Look for pit zips and a hood that turns with your head.

## Try it this weekend

Start the hike slightly cold. After ten minutes of walking you will be warm, and your layers will stay dry. Our Cold Weather Layering guide lists the three pieces we use on every winter hike.
""",
    "first-night-in-a-tent.md": """---
title: "Your first night in a tent: seven things nobody tells you"
url: https://juniperfinch.example/blog/first-night-in-a-tent
tags: [camping, beginners]
date: 2026-09-14
---

# Your first night in a tent

Sleeping outside for the first time is exciting and a little strange. Here are seven things we wish someone had told us.

1. The ground is colder than the air. A sleeping pad matters more than a thick bag.
2. Pitch the tent at home once. Learning poles in the dark is nobody's idea of fun.
3. Keep a headlamp in the same pocket every night.
4. Condensation is normal. Open a vent and wipe the walls in the morning.
5. Eat a snack before bed. Digestion keeps you warm.
6. Bring earplugs. Owls are louder than you think.
7. Leave the site better than you found it.

Our Family Camping Bundle includes a two-person tent, two pads and a lantern, and it ships in one box.
""",
    "trail-running-hydration.md": """---
title: "How much water do you need on a trail run?"
url: https://juniperfinch.example/blog/trail-running-hydration
tags: [running, hydration]
date: 2026-08-21
---

# How much water do you need on a trail run?

A common rule of thumb is 400 to 800 millilitres per hour, but the right amount depends on heat, pace and your own sweat rate.

## Measure your sweat rate

Weigh yourself before and after a one-hour run without drinking. Each kilogram lost is roughly one litre of sweat. Repeat it on a hot day and a cool day.

## Carry it comfortably

Handheld bottles work for runs under an hour. For longer routes a hydration vest keeps the weight close to your back and frees your hands for steep sections.

## Do not forget salt

On runs longer than two hours, add electrolytes. Water alone can leave you flat on the final climb.
""",
}
