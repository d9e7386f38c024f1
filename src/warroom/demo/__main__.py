from warroom.demo.shop import main

raise SystemExit(main())
