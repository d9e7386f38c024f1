from warroom.demo.run import main

raise SystemExit(main())
